"""A recurrent language model: embedding -> recurrent stack -> dropout -> linear decoder.

    tokens (T, B) ─ embed ─▶ (T, B, E) ─ RNN/LSTM/GRU x L ─▶ (T, B, P)
                  ─ dropout ─ decoder ─▶ logits (T, B, V)

Trained with stateful truncated backpropagation through time: the recurrent state at the
end of one window (``rnnlab.text.lm_batching``) is carried into the next and cut from the
graph there (``detach_state``), so the model sees the text as one long stream while
gradients flow through at most ``bptt`` steps (Williams & Peng, 1990).

Regularisers (all off by default):

* ``dropout``: dropout on the embedding output (``dropout_input``), between recurrent
  layers (``dropout_hidden``) and before the decoder (``dropout``), as in Zaremba, Sutskever
  & Vinyals (2014). ``dropout_kind="standard"`` draws a fresh mask per element and step;
  ``"locked"`` draws one mask per sequence and reuses it at every step (variational dropout,
  Gal & Ghahramani, 2016). With locked dropout between layers the stack is built from
  single-layer rnnlab layers with ``LockedDropout`` between them.
* ``embedding_dropout``: drop whole words (rows of the embedding) (Gal & Ghahramani, 2016).
* ``weight_drop``: DropConnect on the hidden-to-hidden weights (AWD-LSTM, Merity et al.,
  2018), the recurrent layer's ``weight_drop`` option.
* ``tie_weights``: the decoder shares the embedding matrix (Press & Wolf, 2017; Inan et al.,
  2017); the embedding size must equal the top layer's output size.

Shapes: T time, B batch, E embedding, H hidden (P = proj_size or H), V vocabulary, L layers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.nn.cells import set_forget_bias
from rnnlab.nn.dropout import EmbeddingDropout, LockedDropout
from rnnlab.nn.recurrent import recurrent_layer
from rnnlab.training.contract import StepOutput, summarize_loss
from rnnlab.training.registry import register_model

__all__ = ["LMConfig", "LanguageModel"]

State = Any  # LSTM: (h (L, B, P), c (L, B, H)); RNN / GRU: h (L, B, H)


@dataclass(frozen=True)
class LMConfig:
    """Architecture of a ``LanguageModel`` (JSON-serialisable; saved in checkpoints).

    Attributes:
        vocab_size: V, the number of token ids; 0 in a run config means "from the
            vocabulary" (the model itself needs V >= 1).
        cell: "lstm", "gru", "rnn" (tanh) or "rnn_relu".
        embed_dim: E.
        hidden_size: H, units per recurrent layer.
        num_layers: L.
        proj_size: LSTM output projection P (0 = none).
        dropout: dropout before the decoder; also the default of the two below.
        dropout_input: dropout on the embedding output (None = ``dropout``).
        dropout_hidden: dropout between recurrent layers (None = ``dropout``).
        dropout_kind: "standard" (fresh mask per step) or "locked" (one mask per sequence).
        embedding_dropout: probability of dropping a whole word type from a batch.
        weight_drop: DropConnect probability on hidden-to-hidden weights.
        tie_weights: share the embedding matrix with the decoder (needs E == P).
        forget_bias: LSTM forget-gate bias (None = the layer's default init).
        init_range: if set, every weight uniform in (-init_range, init_range) and the
            decoder bias 0 (Zaremba et al.); else the layers' own init and the embedding /
            decoder uniform in (-0.1, 0.1).
        backend: the recurrent layers' execution path, "auto", "scratch" or "native".
    """

    vocab_size: int = 0
    cell: Literal["lstm", "gru", "rnn", "rnn_relu"] = "lstm"
    embed_dim: int = 200
    hidden_size: int = 200
    num_layers: int = 2
    proj_size: int = 0
    dropout: float = 0.0
    dropout_input: float | None = None
    dropout_hidden: float | None = None
    dropout_kind: Literal["standard", "locked"] = "standard"
    embedding_dropout: float = 0.0
    weight_drop: float = 0.0
    tie_weights: bool = False
    forget_bias: float | None = None
    init_range: float | None = None
    backend: Literal["auto", "scratch", "native"] = "auto"

    def __post_init__(self) -> None:
        errors = []
        if self.vocab_size < 0:
            errors.append(f"vocab_size must be >= 0, got {self.vocab_size}")
        if self.cell not in ("lstm", "gru", "rnn", "rnn_relu"):
            errors.append(f"cell must be lstm, gru, rnn or rnn_relu, got {self.cell!r}")
        for name in ("embed_dim", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                errors.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.proj_size and (self.cell != "lstm" or self.proj_size >= self.hidden_size):
            errors.append(
                f"proj_size needs cell='lstm' and proj_size < hidden_size, got "
                f"proj_size={self.proj_size} with cell={self.cell!r}, "
                f"hidden_size={self.hidden_size}"
            )
        for name in (
            "dropout",
            "dropout_input",
            "dropout_hidden",
            "embedding_dropout",
            "weight_drop",
        ):
            p = getattr(self, name)
            if p is not None and not 0.0 <= p < 1.0:
                errors.append(f"{name} must be in [0, 1), got {p}")
        if self.dropout_kind not in ("standard", "locked"):
            errors.append(f"dropout_kind must be 'standard' or 'locked', got {self.dropout_kind!r}")
        if self.tie_weights and self.embed_dim != self.output_size:
            errors.append(
                f"tie_weights needs embed_dim == the top layer's output size, got embed_dim="
                f"{self.embed_dim} and output size {self.output_size} "
                f"({'proj_size' if self.proj_size else 'hidden_size'}); set both to the same value"
            )
        if errors:
            raise ValueError("invalid LMConfig: " + "; ".join(errors))

    @property
    def output_size(self) -> int:
        """P: the size of the top recurrent layer's output."""
        return self.proj_size or self.hidden_size

    @property
    def p_input(self) -> float:
        return self.dropout if self.dropout_input is None else self.dropout_input

    @property
    def p_hidden(self) -> float:
        return self.dropout if self.dropout_hidden is None else self.dropout_hidden

    def vocab_sizes(self) -> dict[str, int]:
        """The vocabularies a checkpoint must hold for this model: ``tokens`` of size V."""
        return {"tokens": self.vocab_size}

    def replace(self, **changes: Any) -> LMConfig:
        return dataclasses.replace(self, **changes)


def _make_layer(cfg: LMConfig, input_size: int, num_layers: int, dropout: float) -> nn.Module:
    """One rnnlab recurrent layer (time-major) with ``num_layers`` stacked layers."""
    lstm_only = dict(proj_size=cfg.proj_size, forget_bias=cfg.forget_bias)
    return recurrent_layer(
        cfg.cell,
        input_size,
        cfg.hidden_size,
        num_layers=num_layers,
        dropout=dropout if num_layers > 1 else 0.0,
        weight_drop=cfg.weight_drop,
        backend=cfg.backend,
        **(lstm_only if cfg.cell == "lstm" else {}),
    )


def _dropout(p: float, kind: str) -> nn.Module:
    if p == 0.0:
        return nn.Identity()
    return LockedDropout(p) if kind == "locked" else nn.Dropout(p)


def _map_state(fn, state: State) -> State:
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(fn(s) for s in state)
    return fn(state)


@register_model
class LanguageModel(nn.Module):
    """Recurrent language model implementing rnnlab's model contract.

    Args:
        config: the architecture (``LMConfig``).
        pad_index: id never to be predicted as a target (none in LM streams); kept for
            generation, which never samples it.

    ``forward(tokens (T, B), state) -> (logits (T, B, V), state)``;
    ``step(LMBatch(inputs (T, B), targets (T, B)), state) -> StepOutput`` (mean loss per token).
    """

    model_type: ClassVar[str] = "language_model"
    config_class: ClassVar[type] = LMConfig
    unit: ClassVar[str] = "tokens"  # StepOutput.count counts predicted tokens
    metric_names: ClassVar[tuple[str, ...]] = ("loss", "ppl")

    def __init__(self, config: LMConfig) -> None:
        super().__init__()
        if not isinstance(config, LMConfig):
            raise TypeError(f"expected an LMConfig, got {type(config).__name__}")
        if config.vocab_size < 1:
            raise ValueError(
                f"LanguageModel needs vocab_size >= 1, got {config.vocab_size} "
                "(set it from the vocabulary: config.replace(vocab_size=len(vocab)))"
            )
        self.config = cfg = config
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.embed_dim)
        self.embed = (
            EmbeddingDropout(self.embedding, cfg.embedding_dropout)
            if cfg.embedding_dropout > 0
            else self.embedding
        )
        self.drop_input = _dropout(cfg.p_input, cfg.dropout_kind)
        # Locked dropout between layers needs the layers one by one; otherwise one fused
        # multi-layer module (fastest: torch's kernels can run it in one call).
        self.layerwise = cfg.dropout_kind == "locked" and cfg.p_hidden > 0 and cfg.num_layers > 1
        if self.layerwise:
            sizes = [cfg.embed_dim] + [cfg.output_size] * (cfg.num_layers - 1)
            self.layers = nn.ModuleList(_make_layer(cfg, d, 1, 0.0) for d in sizes)
            self.drop_hidden = LockedDropout(cfg.p_hidden)
        else:
            self.rnn = _make_layer(cfg, cfg.embed_dim, cfg.num_layers, cfg.p_hidden)
        self.drop_output = _dropout(cfg.dropout, cfg.dropout_kind)
        self.decoder = nn.Linear(cfg.output_size, cfg.vocab_size)
        if cfg.tie_weights:
            self.decoder.weight = self.embedding.weight
        self.reset_parameters()

    # ---- parameters ----------------------------------------------------------------

    @torch.no_grad()
    def reset_parameters(self) -> None:
        cfg = self.config
        if cfg.init_range is not None:
            for p in self.parameters():
                nn.init.uniform_(p, -cfg.init_range, cfg.init_range)
            if cfg.cell == "lstm" and cfg.forget_bias is not None:
                for layer in self.recurrent_layers():
                    for k in range(layer.num_layers):
                        set_forget_bias(
                            getattr(layer, f"bias_ih_l{k}"),
                            getattr(layer, f"bias_hh_l{k}"),
                            cfg.forget_bias,
                        )
        else:
            nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
            if not cfg.tie_weights:
                nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def recurrent_layers(self) -> list[nn.Module]:
        """The rnnlab recurrent modules, bottom to top."""
        return list(self.layers) if self.layerwise else [self.rnn]

    # ---- state ---------------------------------------------------------------------

    def initial_state(
        self, batch_size: int | None, device: torch.device | str | None = None
    ) -> State:
        """Zero state: LSTM (h (L, B, P), c (L, B, H)); RNN / GRU h (L, B, H).
        None when ``batch_size`` is unknown (``forward`` then starts from zeros)."""
        if batch_size is None:
            return None
        cfg = self.config
        ref = self.decoder.weight
        kw = dict(device=device if device is not None else ref.device, dtype=ref.dtype)
        h = torch.zeros(cfg.num_layers, batch_size, cfg.output_size, **kw)
        if cfg.cell == "lstm":
            return (h, torch.zeros(cfg.num_layers, batch_size, cfg.hidden_size, **kw))
        return h

    def detach_state(self, state: State) -> State:
        """Cut the state from the graph (truncated BPTT): same values, no history."""
        return _map_state(lambda s: s.detach(), state)

    def _check_state(self, state: State, batch_size: int) -> None:
        cfg = self.config
        expected = (cfg.num_layers, batch_size, cfg.output_size)
        h = state[0] if cfg.cell == "lstm" else state
        if cfg.cell == "lstm" and not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise ValueError("expected an LSTM state (h, c), got " + type(state).__name__)
        if tuple(h.shape) != expected:
            raise ValueError(
                f"expected a state h of shape (L, B, P) = {expected}, got {tuple(h.shape)}"
            )

    # ---- forward -------------------------------------------------------------------

    def forward(self, tokens: Tensor, state: State = None) -> tuple[Tensor, State]:
        """Next-token logits for every position.

        Args:
            tokens: (T, B) int64 token ids, time-major.
            state: the carried state (see ``initial_state``) or None for zeros.
        Returns:
            (logits (T, B, V), state): the state after the last step.
        """
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(
                f"expected int64 tokens of shape (T, B), got {tokens.dtype} {tuple(tokens.shape)}"
            )
        T, B = tokens.shape
        if state is None:
            state = self.initial_state(B, tokens.device)
        else:
            self._check_state(state, B)
        x = self.drop_input(self.embed(tokens))  # (T, B, E)
        if self.layerwise:
            x, state = self._run_layerwise(x, state)  # (T, B, P)
        else:
            x, state = self.rnn(x, state)  # (T, B, P)
        logits = self.decoder(self.drop_output(x))  # (T, B, V)
        return logits, state

    def _run_layerwise(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        lstm = self.config.cell == "lstm"
        finals = []
        for k, layer in enumerate(self.layers):
            if k > 0:
                x = self.drop_hidden(x)  # (T, B, P), one mask per sequence
            hx = (state[0][k : k + 1], state[1][k : k + 1]) if lstm else state[k : k + 1]
            x, hk = layer(x, hx)  # (T, B, P), state of layer k with L = 1
            finals.append(hk)
        if lstm:
            return x, (torch.cat([h for h, _ in finals]), torch.cat([c for _, c in finals]))
        return x, torch.cat(finals)

    # ---- the model contract --------------------------------------------------------

    def step(self, batch, state: State) -> StepOutput:
        """Forward and mean cross-entropy per token on one window.

        Args:
            batch: ``LMBatch(inputs (T, B), targets (T, B))`` (or any pair).
            state: carried state (None for zeros); detached by the trainer between steps.
        Returns:
            ``StepOutput(loss, count = T * B, state, time_steps = T)``.
        """
        inputs, targets = batch
        device = self.decoder.weight.device
        inputs, targets = inputs.to(device), targets.to(device)
        logits, state = self(inputs, state)  # (T, B, V)
        V = logits.shape[-1]
        loss = F.cross_entropy(logits.view(-1, V), targets.reshape(-1))  # mean over T * B
        return StepOutput(loss, float(targets.numel()), state, None, int(targets.shape[0]))

    def summarize(self, totals: Mapping[str, float]) -> dict[str, float]:
        """Mean loss (nats per token) and perplexity."""
        return summarize_loss(totals)

    def extra_repr(self) -> str:
        return f"layerwise={self.layerwise}"
