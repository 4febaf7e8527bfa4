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
* ``top_hidden_size``: a top layer of another size than the others (AWD-LSTM's 1150, 1150,
  400, tied to a 400-d embedding); the layers then run one by one, with per-layer states.
* ``ar_alpha`` / ``tar_beta``: activation and temporal activation regularisation of the top
  layer's output (Merity et al., 2017), in training only (``activation_regularisation``).

Shapes: T time, B batch, E embedding, H hidden (P = proj_size or H), V vocabulary, L layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.models.activation_regularisation import PENALTY_SUM, activation_penalty
from rnnlab.models.lm_config import LMConfig
from rnnlab.models.size import check_fits_in_memory, lm_parameter_count
from rnnlab.nn.cells import set_forget_bias
from rnnlab.nn.dropout import EmbeddingDropout, LockedDropout
from rnnlab.nn.recurrent import recurrent_layer
from rnnlab.training.contract import StepOutput, summarize_loss
from rnnlab.training.registry import register_model

__all__ = ["LMConfig", "LanguageModel"]

State = Any  # LSTM: (h (L, B, P), c (L, B, H)); RNN / GRU: h (L, B, H)


def _make_layer(
    cfg: LMConfig, input_size: int, num_layers: int, dropout: float, hidden_size: int
) -> nn.Module:
    """One rnnlab recurrent layer (time-major) with ``num_layers`` stacked layers."""
    lstm_only = dict(proj_size=cfg.proj_size, forget_bias=cfg.forget_bias)
    return recurrent_layer(
        cfg.cell,
        input_size,
        hidden_size,
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
        return type(state)(_map_state(fn, s) for s in state)  # per-layer states nest
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
        check_fits_in_memory(lm_parameter_count(config), what=f"LanguageModel({config.describe()})")
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
        # Different layer sizes need them one by one, too.
        locked_between = cfg.dropout_kind == "locked" and cfg.p_hidden > 0 and cfg.num_layers > 1
        self.layerwise = locked_between or cfg.per_layer_sizes
        if self.layerwise:
            hidden = cfg.hidden_sizes
            inputs = [cfg.embed_dim] + [cfg.proj_size or h for h in hidden[:-1]]
            self.layers = nn.ModuleList(
                _make_layer(cfg, d, 1, 0.0, h) for d, h in zip(inputs, hidden)
            )
            self.drop_hidden = _dropout(cfg.p_hidden, cfg.dropout_kind)
        else:
            self.rnn = _make_layer(
                cfg, cfg.embed_dim, cfg.num_layers, cfg.p_hidden, cfg.hidden_size
            )
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
        """Zero state: LSTM (h (L, B, P), c (L, B, H)); RNN / GRU h (L, B, H); with
        ``top_hidden_size`` a tuple of L such states with L = 1, one per layer.
        None when ``batch_size`` is unknown (``forward`` then starts from zeros)."""
        if batch_size is None:
            return None
        cfg = self.config
        ref = self.decoder.weight
        kw = dict(device=device if device is not None else ref.device, dtype=ref.dtype)
        if cfg.per_layer_sizes:
            zeros = [torch.zeros(1, batch_size, h, **kw) for h in cfg.hidden_sizes]  # (1, B, H_k)
            if cfg.cell == "lstm":
                return tuple((z, torch.zeros_like(z)) for z in zeros)
            return tuple(zeros)
        h = torch.zeros(cfg.num_layers, batch_size, cfg.output_size, **kw)
        if cfg.cell == "lstm":
            return (h, torch.zeros(cfg.num_layers, batch_size, cfg.hidden_size, **kw))
        return h

    def detach_state(self, state: State) -> State:
        """Cut the state from the graph (truncated BPTT): same values, no history."""
        return _map_state(lambda s: s.detach(), state)

    def _check_state(self, state: State, batch_size: int) -> None:
        cfg = self.config
        if cfg.per_layer_sizes:
            expected = [(1, batch_size, h) for h in cfg.hidden_sizes]
            got = None
            if isinstance(state, (tuple, list)) and len(state) == cfg.num_layers:
                got = [tuple((s[0] if cfg.cell == "lstm" else s).shape) for s in state]
            if got != expected:
                raise ValueError(f"expected per-layer states h of shapes {expected}, got {got}")
            return
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
        logits, state, _, _ = self._forward(tokens, state)
        return logits, state

    def _forward(self, tokens: Tensor, state: State) -> tuple[Tensor, State, Tensor, Tensor]:
        """(logits (T, B, V), state, top output (T, B, P), the same after dropout);
        ``tokens`` (T, B) and ``state`` checked as ``forward`` checks them."""
        if tokens.dim() != 2 or tokens.dtype != torch.long:
            raise ValueError(
                f"expected int64 tokens of shape (T, B), got {tokens.dtype} {tuple(tokens.shape)}"
            )
        T, B = tokens.shape
        if T == 0 or B == 0:
            raise ValueError(f"expected tokens (T, B) with T, B >= 1, got shape {(T, B)}")
        V = self.config.vocab_size
        low, high = (int(x) for x in torch.aminmax(tokens))  # one reduction, one sync
        if low < 0 or high >= V:
            raise ValueError(
                f"expected token ids in [0, {V}) (the model's vocab_size), got ids from {low} "
                f"to {high}: a vocabulary of another size?"
            )
        if state is None:
            state = self.initial_state(tokens.shape[1], tokens.device)
        else:
            self._check_state(state, tokens.shape[1])
        x = self.drop_input(self.embed(tokens))  # (T, B, E)
        if self.layerwise:
            x, state = self._run_layerwise(x, state)  # (T, B, P)
        else:
            x, state = self.rnn(x, state)  # (T, B, P)
        dropped = self.drop_output(x)  # (T, B, P)
        return self.decoder(dropped), state, x, dropped  # logits (T, B, V)

    def _run_layerwise(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        lstm, per_layer = self.config.cell == "lstm", self.config.per_layer_sizes
        finals = []
        for k, layer in enumerate(self.layers):
            if k > 0:
                x = self.drop_hidden(x)  # (T, B, P), one mask per sequence
            if per_layer:
                hx = state[k]
            else:
                hx = (state[0][k : k + 1], state[1][k : k + 1]) if lstm else state[k : k + 1]
            x, hk = layer(x, hx)  # (T, B, P), state of layer k with L = 1
            finals.append(hk)
        if per_layer:
            return x, tuple(finals)
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
            ``StepOutput(loss, count = T * B, state, sums, time_steps = T)``; in training with
            ``ar_alpha`` / ``tar_beta`` the loss includes AR / TAR and ``sums`` holds the
            penalty times count (``summarize`` takes it out of the reported loss).
        """
        inputs, targets = batch
        device = self.decoder.weight.device
        inputs, targets = inputs.to(device), targets.to(device)
        cfg = self.config
        logits, state, raw, dropped = self._forward(inputs, state)  # (T, B, V), ..., (T, B, P)
        V = logits.shape[-1]
        loss = F.cross_entropy(logits.view(-1, V), targets.reshape(-1))  # mean over T * B
        count, sums = float(targets.numel()), None
        if self.training and (cfg.ar_alpha > 0 or cfg.tar_beta > 0):
            penalty = activation_penalty(raw, dropped, cfg.ar_alpha, cfg.tar_beta)
            loss = loss + penalty
            sums = {PENALTY_SUM: float(penalty.detach()) * count}
        return StepOutput(loss, count, state, sums, int(targets.shape[0]))

    def summarize(self, totals: Mapping[str, float]) -> dict[str, float]:
        """Mean cross-entropy (nats per token) and perplexity; with AR / TAR in training,
        also ``penalty`` (their mean), which the reported loss excludes."""
        if PENALTY_SUM not in totals:
            return summarize_loss(totals)
        penalty = totals[PENALTY_SUM] / totals["count"]
        return {**summarize_loss({**totals, "loss": totals["loss"] - penalty}), "penalty": penalty}

    def extra_repr(self) -> str:
        return f"layerwise={self.layerwise}"
