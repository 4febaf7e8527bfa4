"""An encoder-decoder (many-to-many, unaligned): "the encoder understands, the decoder generates".

    source ids (B, Ts) ─ [reverse] ─ SentenceEncoder ─▶ memory (B, Ts, M), final state
    target in  [<BOS> y1 .. yn]  ─ embed ─┬─ decoder RNN (init from the encoder) ─▶ h (B, Tt, Hd)
                                          │       ▲ peeky: + summary c at every step
                                          │       ▲ bahdanau: + context from the previous state
    readout:  basic      logits = W_out h
              peeky      logits = W_out [h; c]
              attention  logits = W_out tanh(W_c [h; context])    (Luong: context from h)
    target out [y1 .. yn <EOS>]: cross-entropy per real target token

Three variants a student can compare (Sutskever et al. 2014; Cho et al. 2014's "peeky"
context at every step, as in "Deep Learning from Scratch 2"; Bahdanau et al. 2015 and Luong
et al. 2015 attention). The summary ``c`` (B, M) is the encoder's top-layer final state, both
directions concatenated (M = D*H). A bridge ``tanh(W c)`` makes the decoder's initial state
when sizes, cells or directions differ; otherwise the final state is passed as it is.

With full teacher forcing (``teacher_forcing = 1``) the decoder runs over the whole target at
once (one call of the recurrent core), except for Bahdanau attention, whose context needs the
previous state: it steps. ``decode_step`` is the one-token version used by greedy and beam
search (``rnnlab.models.decoding``); both paths compute the same numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.models.encoder import SentenceEncoder
from rnnlab.nn.attention import ATTENTION_KINDS, Attention
from rnnlab.nn.lengths import reverse_index
from rnnlab.nn.recurrent import recurrent_layer
from rnnlab.training.contract import StepOutput
from rnnlab.training.metrics import perplexity
from rnnlab.training.registry import register_model

__all__ = ["Seq2SeqConfig", "Seq2Seq", "Memory", "TranslateBatch"]

VARIANTS = ("basic", "peeky", "attention")


class TranslateBatch(NamedTuple):
    """A padded batch of sentence pairs (0 = padding)."""

    src: Tensor  # (B, Ts) source ids
    src_lengths: Tensor  # (B,) in 1..Ts
    tgt_in: Tensor  # (B, Tt) <BOS> y1 .. yn
    tgt_out: Tensor  # (B, Tt) y1 .. yn <EOS>
    tgt_lengths: Tensor  # (B,) n + 1


class Memory(NamedTuple):
    """What the encoder hands the decoder for one batch."""

    outputs: Tensor  # (B, Ts, M) encoder outputs, zero at padding
    mask: Tensor  # (B, Ts) bool, True at real source positions
    keys: Tensor | None  # (B, Ts, K) attention keys (None without attention)
    summary: Tensor  # (B, M) top-layer final state, directions concatenated
    state: Any  # the encoder's final state: h_n (L*D, B, H), or (h_n, c_n) for LSTM

    def select(self, index: Tensor) -> Memory:
        """The memory of batch rows ``index`` (N,): beam search expands and reorders with it."""
        state = select_state(self.state, index)
        keys = None if self.keys is None else self.keys[index]
        return Memory(self.outputs[index], self.mask[index], keys, self.summary[index], state)


def select_state(state: Any, index: Tensor) -> Any:
    """Rows ``index`` of a recurrent state (L, B, H) or a pair of them (LSTM)."""
    if isinstance(state, tuple):
        return tuple(s[:, index] for s in state)
    return state[:, index]


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Architecture of a ``Seq2Seq`` model (saved in checkpoints).

    Attributes:
        src_vocab_size, tgt_vocab_size: from the vocabularies (0 in a run config).
        bos_index, eos_index: the target vocabulary's <BOS> and <EOS> ids.
        variant: "basic", "peeky" or "attention"; attention: "bahdanau", "dot" or "general".
        encoder_cell, decoder_cell: "lstm" or "gru"; embed_dim: E (both sides);
        hidden_size: H, encoder units per direction; decoder_hidden_size: Hd (0: D*H);
        encoder_layers, decoder_layers: L; bidirectional: a bidirectional encoder (D = 2).
        dropout: on the embeddings and before the output layer; dropout_hidden: between
            stacked recurrent layers.
        teacher_forcing: probability of feeding the true previous token in training (1.0:
            always, which also allows the one-call decoder); reverse_source: read the source
            backwards (Sutskever et al. 2014); tie_embeddings: the output layer shares the
            decoder's input embedding (a projection to E is added when needed).
        label_smoothing: of the training loss (perplexity is always the plain NLL).
        max_source_length: the longest source (and target) in tokens the model accepts.
        backend: of the recurrent core ("auto", "scratch", "native").
    """

    src_vocab_size: int = 0
    tgt_vocab_size: int = 0
    bos_index: int = 2
    eos_index: int = 3
    variant: Literal["basic", "peeky", "attention"] = "attention"
    attention: Literal["bahdanau", "dot", "general"] = "general"
    encoder_cell: Literal["lstm", "gru"] = "gru"
    decoder_cell: Literal["lstm", "gru"] = "gru"
    embed_dim: int = 256
    hidden_size: int = 256
    decoder_hidden_size: int = 0
    encoder_layers: int = 1
    decoder_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.3
    dropout_hidden: float = 0.0
    teacher_forcing: float = 1.0
    reverse_source: bool = False
    tie_embeddings: bool = False
    label_smoothing: float = 0.0
    max_source_length: int = 200
    backend: Literal["auto", "scratch", "native"] = "auto"

    def __post_init__(self) -> None:
        errors = []
        for name in ("src_vocab_size", "tgt_vocab_size", "decoder_hidden_size"):
            if getattr(self, name) < 0:
                errors.append(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in (
            "embed_dim",
            "hidden_size",
            "encoder_layers",
            "decoder_layers",
            "max_source_length",
        ):
            if getattr(self, name) < 1:
                errors.append(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("dropout", "dropout_hidden", "label_smoothing"):
            if not 0.0 <= getattr(self, name) < 1.0:
                errors.append(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0.0 <= self.teacher_forcing <= 1.0:
            errors.append(f"teacher_forcing must be in [0, 1], got {self.teacher_forcing}")
        if self.variant not in VARIANTS:
            errors.append(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.attention not in ATTENTION_KINDS:
            errors.append(f"attention must be one of {ATTENTION_KINDS}, got {self.attention!r}")
        for name in ("encoder_cell", "decoder_cell"):
            if getattr(self, name) not in ("lstm", "gru"):
                errors.append(f"{name} must be 'lstm' or 'gru', got {getattr(self, name)!r}")
        memory = (2 if self.bidirectional else 1) * self.hidden_size
        if self.variant == "attention" and self.attention == "dot":
            if (self.decoder_hidden_size or memory) != memory:
                errors.append(
                    f"dot attention needs decoder_hidden_size == the encoder output size "
                    f"{memory}, got {self.decoder_hidden_size}"
                )
        if errors:
            raise ValueError("invalid Seq2SeqConfig: " + "; ".join(errors))

    @property
    def memory_size(self) -> int:
        """M = D * H, the size of an encoder output."""
        return (2 if self.bidirectional else 1) * self.hidden_size

    @property
    def decoder_size(self) -> int:
        """Hd, the decoder's hidden size."""
        return self.decoder_hidden_size or self.memory_size

    def vocab_sizes(self) -> dict[str, int]:
        """The vocabularies this model expects, by checkpoint name, and their sizes."""
        return {"source": self.src_vocab_size, "target": self.tgt_vocab_size}

    def replace(self, **changes: Any) -> Seq2SeqConfig:
        return dataclasses.replace(self, **changes)


@register_model
class Seq2Seq(nn.Module):
    """Encoder-decoder implementing rnnlab's model contract.

    ``forward(src, src_lengths, tgt_in, tgt_lengths) -> (logits (B, Tt, V), weights)``;
    ``encode`` / ``initial_decoder_state`` / ``decode_step`` for decoding one token at a time;
    ``step(TranslateBatch, state) -> StepOutput`` (mean loss per target token).
    """

    model_type: ClassVar[str] = "seq2seq"
    unit: ClassVar[str] = "tokens"  # target tokens, <EOS> included
    metric_names: ClassVar[tuple[str, ...]] = (
        "loss", "ppl", "accuracy", "bleu", "chrf", "exact_match",
    )  # fmt: skip
    config_class: ClassVar[type] = Seq2SeqConfig

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        if not isinstance(config, Seq2SeqConfig):
            raise TypeError(f"expected a Seq2SeqConfig, got {type(config).__name__}")
        if config.src_vocab_size < 2 or config.tgt_vocab_size < 4:
            raise ValueError(
                "Seq2Seq needs src_vocab_size >= 2 and tgt_vocab_size >= 4 (<PAD> <UNK> "
                f"<BOS> <EOS>), got {config.src_vocab_size} and {config.tgt_vocab_size}"
            )
        self.config = cfg = config
        M, Hd, E = cfg.memory_size, cfg.decoder_size, cfg.embed_dim
        self.directions = 2 if cfg.bidirectional else 1
        self.encoder = SentenceEncoder(
            vocab_size=cfg.src_vocab_size, embed_dim=E, hidden_size=cfg.hidden_size,
            cell=cfg.encoder_cell, num_layers=cfg.encoder_layers,
            bidirectional=cfg.bidirectional, dropout_input=cfg.dropout,
            dropout_hidden=cfg.dropout_hidden, backend=cfg.backend,
        )  # fmt: skip
        self.bahdanau = cfg.variant == "attention" and cfg.attention == "bahdanau"
        self.embedding = nn.Embedding(cfg.tgt_vocab_size, E, padding_idx=0)
        with torch.no_grad():
            nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
            self.embedding.weight[0].zero_()
        fed = M if cfg.variant == "peeky" or self.bahdanau else 0  # extra decoder input
        self.decoder = recurrent_layer(
            cfg.decoder_cell, E + fed, Hd, num_layers=cfg.decoder_layers, batch_first=True,
            dropout=cfg.dropout_hidden if cfg.decoder_layers > 1 else 0.0, backend=cfg.backend,
        )  # fmt: skip
        self.direct = (
            cfg.encoder_cell == cfg.decoder_cell and self.directions == 1
            and cfg.hidden_size == Hd and cfg.encoder_layers == cfg.decoder_layers
        )  # fmt: skip
        self.bridge = None if self.direct else nn.Linear(M, cfg.decoder_layers * Hd)
        self.attention = Attention(cfg.attention, Hd, M) if cfg.variant == "attention" else None
        features = Hd + (M if cfg.variant in ("peeky", "attention") else 0)
        readout = E if cfg.tie_embeddings else Hd
        if cfg.variant == "attention":  # Luong's attentional state tanh(W_c [h; context])
            self.combine: nn.Module | None = nn.Linear(features, readout, bias=False)
        elif cfg.tie_embeddings and features != E:
            self.combine = nn.Linear(features, E, bias=False)
        else:
            self.combine = None
        self.drop = nn.Dropout(cfg.dropout)
        out_in = readout if self.combine is not None else features
        self.out = nn.Linear(out_in, cfg.tgt_vocab_size)
        if cfg.tie_embeddings:
            self.out.weight = self.embedding.weight

    # ---- encoder -------------------------------------------------------------------

    def encode(self, src: Tensor, src_lengths: Tensor) -> Memory:
        """Encode a padded source batch.

        Args:
            src: (B, Ts) int64 ids, right-padded with 0; src_lengths: (B,) each in 1..Ts.
        Returns:
            the :class:`Memory` (outputs (B, Ts, M), mask (B, Ts), keys, summary (B, M)).
        """
        B, Ts = src.shape
        lengths = src_lengths.to(src.device)
        if self.config.reverse_source:  # each sentence backwards within its own length
            index = reverse_index(lengths, Ts, src.device)  # (Ts, B)
            src = src.gather(1, index.t())  # (B, Ts)
        outputs, state = self.encoder(src, src_lengths, full_state=True)  # (B, Ts, M)
        mask = torch.arange(Ts, device=src.device)[None, :] < lengths[:, None]  # (B, Ts)
        h_n = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
        top = h_n[-self.directions :]  # (D, B, H)
        summary = top.transpose(0, 1).reshape(B, -1)  # (B, M)
        keys = self.attention.keys(outputs) if self.attention is not None else None
        return Memory(outputs, mask, keys, summary, state)

    def initial_decoder_state(self, memory: Memory) -> Any:
        """The decoder's initial state: the encoder's own final state when the shapes agree,
        else ``tanh(W c)`` of the summary (LSTM cell state zero). (L, B, Hd) or a pair."""
        if self.direct:
            return memory.state
        B = memory.summary.shape[0]
        h0 = torch.tanh(self.bridge(memory.summary))  # (B, L*Hd)
        h0 = h0.view(B, self.config.decoder_layers, -1).transpose(0, 1).contiguous()  # (L, B, Hd)
        return (h0, torch.zeros_like(h0)) if self.config.decoder_cell == "lstm" else h0

    # ---- decoder -------------------------------------------------------------------

    def _readout(
        self, h: Tensor, memory: Memory, context: Tensor | None
    ) -> tuple[Tensor, Tensor | None]:
        """Logits from decoder outputs h (B, T, Hd): (B, T, V) and attention (B, T, Ts)."""
        weights = None
        if self.config.variant == "peeky":
            features = torch.cat([h, memory.summary[:, None].expand(-1, h.shape[1], -1)], -1)
        elif self.attention is not None:
            if context is None:  # Luong: attend from the new state
                context, weights = self.attention(h, memory.outputs, memory.mask, memory.keys)
            features = torch.cat([h, context], -1)  # (B, T, Hd + M)
        else:
            features = h  # (B, T, Hd)
        if self.combine is not None:
            features = self.combine(features)  # (B, T, E or Hd)
            if self.attention is not None:
                features = torch.tanh(features)
        return self.out(self.drop(features)), weights  # (B, T, V)

    def _decoder_input(self, y: Tensor, memory: Memory) -> Tensor:
        """Embedded target tokens y (B, T), with the peeky summary: (B, T, E [+ M])."""
        x = self.drop(self.embedding(y))  # (B, T, E)
        if self.config.variant == "peeky":
            x = torch.cat([x, memory.summary[:, None].expand(-1, y.shape[1], -1)], -1)
        return x

    def decode_step(self, y_prev: Tensor, state: Any, memory: Memory) -> tuple[Tensor, Any, Any]:
        """One decoder step.

        Args:
            y_prev: (B,) the previous target token (<BOS> first); state: the decoder state.
        Returns:
            logits (B, V), the new state, attention weights (B, Ts) (None without attention).
        """
        x = self._decoder_input(y_prev[:, None], memory)  # (B, 1, E [+ M])
        context = weights = None
        if self.bahdanau:  # attend from the previous state's top layer
            query = (state[0] if isinstance(state, tuple) else state)[-1][:, None]  # (B, 1, Hd)
            context, weights = self.attention(query, memory.outputs, memory.mask, memory.keys)
            x = torch.cat([x, context], -1)  # (B, 1, E + M)
        h, state = self.decoder(x, state)  # (B, 1, Hd)
        logits, luong = self._readout(h, memory, context)  # (B, 1, V)
        weights = weights if weights is not None else luong
        return logits[:, 0], state, None if weights is None else weights[:, 0]

    def forward(
        self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor, tgt_lengths: Tensor
    ) -> tuple[Tensor, Tensor | None]:
        """Teacher-forced logits.

        Args:
            src: (B, Ts), src_lengths: (B,); tgt_in: (B, Tt) <BOS> y1 .. yn, right-padded;
            tgt_lengths: (B,) real lengths of tgt_in.
        Returns:
            logits (B, Tt, V); attention weights (B, Tt, Ts) or None.
        """
        memory = self.encode(src, src_lengths)
        state = self.initial_decoder_state(memory)
        forced = not self.training or self.config.teacher_forcing >= 1.0
        if forced and not self.bahdanau:  # the whole target in one call of the core
            x = self._decoder_input(tgt_in, memory)  # (B, Tt, E [+ M])
            h, _ = self.decoder(x, state, lengths=tgt_lengths.cpu())  # (B, Tt, Hd)
            return self._readout(h, memory, None)
        logits, weights = [], []
        y = tgt_in[:, 0]  # (B,) <BOS>
        for t in range(tgt_in.shape[1]):
            step_logits, state, w = self.decode_step(y, state, memory)  # (B, V)
            logits.append(step_logits)
            weights.append(w)
            if t + 1 < tgt_in.shape[1]:
                y = tgt_in[:, t + 1]
                if not forced and torch.rand(()).item() >= self.config.teacher_forcing:
                    y = step_logits.argmax(-1)  # feed the model's own guess
        stacked = None if weights[0] is None else torch.stack(weights, 1)  # (B, Tt, Ts)
        return torch.stack(logits, 1), stacked  # (B, Tt, V)

    # ---- the model contract --------------------------------------------------------

    def initial_state(self, batch_size: int | None, device: Any = None) -> None:
        return None  # stateless across batches: every batch is a set of sentence pairs

    def detach_state(self, state: Any) -> None:
        return None

    def step(self, batch: TranslateBatch, state: Any = None) -> StepOutput:
        """Mean (label-smoothed) cross-entropy per real target token; sums ``nll``, ``correct``."""
        src, src_lengths, tgt_in, tgt_out, tgt_lengths = batch
        logits, _ = self(src, src_lengths, tgt_in, tgt_lengths)  # (B, Tt, V)
        real = tgt_out != 0  # (B, Tt)
        scores, gold = logits[real], tgt_out[real]  # (N, V), (N,)
        loss = F.cross_entropy(scores, gold, label_smoothing=self.config.label_smoothing)
        with torch.no_grad():
            if self.config.label_smoothing > 0:  # the plain NLL needs its own pass
                nll = F.cross_entropy(scores.float(), gold, reduction="sum").item()
            else:
                nll = loss.item() * gold.numel()
            correct = float((scores.argmax(-1) == gold).sum())
        return StepOutput(loss, float(gold.numel()), None, {"nll": nll, "correct": correct})

    def summarize(self, totals: Mapping[str, float]) -> dict[str, float]:
        """Training loss, perplexity of the plain NLL, and next-token accuracy."""
        count = max(float(totals["count"]), 1.0)
        nll = float(totals.get("nll", totals["loss_sum"])) / count
        return {
            "loss": float(totals["loss"]),
            "ppl": perplexity(nll),
            "accuracy": float(totals.get("correct", 0.0)) / count,
        }
