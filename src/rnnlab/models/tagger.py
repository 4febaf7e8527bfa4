"""A sequence tagger (many-to-many, aligned): one tag per word.

    ids (B, T) ─ embed ─▶ (B, T, E) ⊕ char BiLSTM features (B, T, 2 H_c)   [optional]
                                   ⊕ casing-class embedding (B, T, E_s)      [optional]
        ─ SentenceEncoder (BiLSTM, lengths) ─▶ (B, T, D*H) ─ dropout ─ linear ─▶ scores (B, T, C)
        ─ softmax per token (cross-entropy)  or  linear-chain CRF (forward algorithm, Viterbi)

The BiLSTM tagger of Plank, Søgaard & Goldberg (2016, "Multilingual part-of-speech tagging
with bidirectional LSTM models and auxiliary loss"), with the character features of Lample
et al. (2016) for unknown and rare words, and optionally their CRF output layer. A
words-only tagger can instead look unknown words up as spelling signatures (the data's
``unk_signatures``, ``text/word_shapes.py``) and embed each word's casing class
(``shape_dim``): both word-level features, no character model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.models.encoder import SentenceEncoder, config_errors
from rnnlab.nn.char_features import CharWordEncoder
from rnnlab.nn.crf import LinearChainCRF
from rnnlab.text.padding import lengths_to_mask
from rnnlab.text.word_shapes import NUM_SHAPES
from rnnlab.training.contract import StepOutput
from rnnlab.training.registry import register_model

__all__ = ["SequenceTagger", "TaggerConfig"]


@dataclass(frozen=True)
class TaggerConfig:
    """Architecture of a ``SequenceTagger`` (saved in checkpoints).

    Attributes:
        vocab_size: V words; num_chars: character vocabulary size; num_tags: C
            (each 0 in a run config: from the vocabularies).
        cell, embed_dim, hidden_size, num_layers, bidirectional: the word-level encoder.
        char_features: add the character BiLSTM's word features; char_dim, char_hidden: its
            sizes (features are 2 * char_hidden).
        shape_dim: size of a casing-class embedding (``word_shapes.SHAPES``: lower / Title /
            UPPER / mixed / number / alnum / other) concatenated to the word vector; 0 = off.
        crf: a linear-chain CRF output layer instead of a per-token softmax.
        dropout: before the output layer; dropout_input: on the word vectors;
            dropout_hidden: between layers; dropout_kind; word_dropout: token -> <UNK>.
        forget_bias, weight_drop, backend: passed to the recurrent core.
    """

    vocab_size: int = 0
    num_chars: int = 0
    num_tags: int = 0
    cell: Literal["lstm", "gru", "rnn", "rnn_relu"] = "lstm"
    embed_dim: int = 100
    hidden_size: int = 200
    num_layers: int = 1
    bidirectional: bool = True
    char_features: bool = True
    char_dim: int = 32
    char_hidden: int = 50
    shape_dim: int = 0
    crf: bool = False
    dropout: float = 0.33
    dropout_input: float = 0.33
    dropout_hidden: float = 0.0
    dropout_kind: Literal["standard", "locked"] = "standard"
    word_dropout: float = 0.05
    forget_bias: float | None = None
    weight_drop: float = 0.0
    backend: Literal["auto", "scratch", "native"] = "auto"

    def __post_init__(self) -> None:
        errors = config_errors(
            self, at_least_0=("vocab_size", "num_chars", "num_tags", "shape_dim"),
            at_least_1=("embed_dim", "hidden_size", "num_layers", "char_dim", "char_hidden"),
            probabilities=("dropout", "dropout_input", "dropout_hidden", "word_dropout",
                           "weight_drop"),
        )  # fmt: skip
        if errors:
            raise ValueError("invalid TaggerConfig: " + "; ".join(errors))

    def vocab_sizes(self) -> dict[str, int]:
        """The vocabularies this model expects, by checkpoint name, and their sizes."""
        return {"words": self.vocab_size, "chars": self.num_chars, "tags": self.num_tags}

    def replace(self, **changes: Any) -> TaggerConfig:
        return dataclasses.replace(self, **changes)


@register_model
class SequenceTagger(nn.Module):
    """Aligned many-to-many tagger implementing rnnlab's model contract.

    ``forward(ids, lengths, chars, char_lengths, shapes, fallback) -> scores (B, T, C)``
    (``shapes`` needed with ``shape_dim``; ``fallback``: word dropout's ids); ``predict`` gives tag
    ids (B, T) (-1 at padding); ``step(TagBatch, state) -> StepOutput`` (mean loss per token;
    with a CRF the sentence's negative log-likelihood divided by its words).
    """

    model_type: ClassVar[str] = "sequence_tagger"
    unit: ClassVar[str] = "tokens"  # what StepOutput.count counts
    metric_names: ClassVar[tuple[str, ...]] = ("loss", "accuracy")
    config_class: ClassVar[type] = TaggerConfig

    def __init__(self, config: TaggerConfig) -> None:
        super().__init__()
        if not isinstance(config, TaggerConfig):
            raise TypeError(f"expected a TaggerConfig, got {type(config).__name__}")
        if config.vocab_size < 2 or config.num_tags < 1 or config.num_chars < 2:
            raise ValueError(
                "SequenceTagger needs vocab_size >= 2, num_chars >= 2 and num_tags >= 1, got "
                f"{config.vocab_size}, {config.num_chars}, {config.num_tags} "
                "(set them from the vocabularies)"
            )
        self.config = cfg = config
        self.chars = (
            CharWordEncoder(cfg.num_chars, cfg.char_dim, cfg.char_hidden, cfg.backend)
            if cfg.char_features
            else None
        )
        self.shapes = (
            nn.Embedding(NUM_SHAPES, cfg.shape_dim, padding_idx=0) if cfg.shape_dim else None
        )
        extra_dim = (self.chars.output_size if self.chars is not None else 0) + cfg.shape_dim
        self.encoder = SentenceEncoder(
            vocab_size=cfg.vocab_size, embed_dim=cfg.embed_dim, hidden_size=cfg.hidden_size,
            cell=cfg.cell, num_layers=cfg.num_layers, bidirectional=cfg.bidirectional,
            extra_dim=extra_dim,
            dropout_input=cfg.dropout_input, dropout_hidden=cfg.dropout_hidden,
            dropout_kind=cfg.dropout_kind, word_dropout=cfg.word_dropout,
            forget_bias=cfg.forget_bias, weight_drop=cfg.weight_drop, backend=cfg.backend,
        )  # fmt: skip
        self.drop = nn.Dropout(cfg.dropout)
        self.output = nn.Linear(self.encoder.output_size, cfg.num_tags)
        self.crf = LinearChainCRF(cfg.num_tags) if cfg.crf else None

    def forward(
        self, ids: Tensor, lengths: Tensor, chars: Tensor | None = None,
        char_lengths: Tensor | None = None, shapes: Tensor | None = None,
        fallback: Tensor | None = None,
    ) -> Tensor:  # fmt: skip
        """Per-token tag scores.

        Args:
            ids: (B, T) word ids (0 = padding); lengths: (B,) each in 1..T;
            chars: (B, T, W) character ids and char_lengths (B, T), needed with char features;
            shapes: (B, T) casing classes, needed with ``shape_dim``;
            fallback: (B, T) ids word dropout puts in (signatures; None: <UNK>).
        Returns:
            scores (B, T, C) (emission scores when a CRF is on top).
        """
        features = []
        if self.chars is not None:
            if chars is None or char_lengths is None:
                raise ValueError("this tagger uses character features: pass chars, char_lengths")
            features.append(self.chars(chars, char_lengths))  # (B, T, 2 H_c)
        if self.shapes is not None:
            if shapes is None or shapes.shape != ids.shape:
                got = None if shapes is None else tuple(shapes.shape)
                raise ValueError(
                    f"this tagger uses casing classes: expected shapes of shape "
                    f"{tuple(ids.shape)}, got {got}"
                )
            features.append(self.shapes(shapes))  # (B, T, E_s)
        extra = torch.cat(features, dim=-1) if features else None  # (B, T, E')
        outputs, _ = self.encoder(ids, lengths, extra, fallback)  # (B, T, D*H)
        return self.output(self.drop(outputs))  # (B, T, C)

    @torch.no_grad()
    def predict(
        self, ids: Tensor, lengths: Tensor, chars: Tensor | None = None,
        char_lengths: Tensor | None = None, shapes: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        """Best tags (B, T) (-1 at padding) and per-token probabilities (B, T, C) in eval
        mode. With a CRF the tags are the Viterbi path and the probabilities the per-token
        softmax of the emission scores."""
        was = self.training
        self.eval()
        try:
            scores = self(ids, lengths, chars, char_lengths, shapes)  # (B, T, C)
            probs = F.softmax(scores, dim=-1)  # (B, T, C)
            if self.crf is not None:
                tags, _ = self.crf.decode(scores, lengths)  # (B, T)
            else:
                mask = lengths_to_mask(lengths.to(scores.device), scores.shape[1])  # (B, T)
                tags = scores.argmax(-1).masked_fill(~mask, -1)  # (B, T)
            return tags, probs
        finally:
            self.train(was)

    # ---- the model contract --------------------------------------------------------

    def initial_state(self, batch_size: int | None, device: Any = None) -> None:
        return None  # stateless: every batch is a set of whole sentences

    def detach_state(self, state: Any) -> None:
        return None

    def step(self, batch, state: Any = None) -> StepOutput:
        """Mean loss per token on one ``TagBatch``; sums ``correct`` tokens."""
        ids, lengths, tags = batch.ids, batch.lengths, batch.tags
        scores = self(ids, lengths, batch.chars, batch.char_lengths, batch.shapes,
                      batch.fallback)  # (B, T, C)  # fmt: skip
        tokens = float(lengths.sum())
        if self.crf is not None:
            loss = self.crf.neg_log_likelihood(scores, tags, lengths).sum() / tokens
            predicted = self.crf.decode(scores.detach(), lengths)[0] if not self.training else None
        else:
            C = scores.shape[-1]
            loss = F.cross_entropy(scores.reshape(-1, C), tags.reshape(-1), ignore_index=-1)
            predicted = scores.argmax(-1)  # (B, T)
        sums = {}
        if predicted is not None:
            sums["correct"] = float(((predicted == tags) & (tags >= 0)).sum())
        return StepOutput(loss, tokens, None, sums)

    def summarize(self, totals: Mapping[str, float]) -> dict[str, float]:
        """Mean loss per token and, where measured, token accuracy."""
        out = {"loss": float(totals["loss"])}
        if "correct" in totals:
            out["accuracy"] = totals["correct"] / totals["count"]
        return out
