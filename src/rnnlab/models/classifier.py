"""A sentence classifier (many-to-one): encoder -> pooling over real steps -> MLP -> classes.

    ids (B, T), lengths (B,) ─ SentenceEncoder ─▶ outputs (B, T, D*H), h_n (L*D, B, H)
        ─ pool (last | mean | max | "max+mean" ...) ─▶ (B, k*D*H) ─ dropout ─ MLP ─▶ (B, C)

Max and mean pooling over BiLSTM states (Conneau et al. 2017, "Supervised learning of
universal sentence representations", InferSent) beat the final state alone on SST; the
final state is the classic many-to-one read-out. Trained with cross-entropy per sentence.
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
from rnnlab.nn.pooling import parse_pooling, pool
from rnnlab.training.contract import StepOutput
from rnnlab.training.registry import register_model

__all__ = ["ClassifierConfig", "SequenceClassifier"]


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture of a ``SequenceClassifier`` (saved in checkpoints).

    Attributes:
        vocab_size: V (0 in a run config: from the vocabulary); num_classes: C (0: likewise).
        cell: "lstm", "gru", "rnn" or "rnn_relu"; embed_dim: E; hidden_size: H per direction;
        num_layers: L; bidirectional: D = 2 if true.
        pooling: "last", "mean", "max" or a "+"-joined combination, e.g. "max+mean".
        mlp_hidden: width of the MLP's hidden layer (0: a single linear layer).
        dropout: before the MLP (and after its hidden layer); dropout_input: on the word
            vectors; dropout_hidden: between recurrent layers; dropout_kind: "standard" or
            "locked"; word_dropout: training tokens replaced by <UNK> with this probability.
        forget_bias, weight_drop, backend: passed to the recurrent core.
    """

    vocab_size: int = 0
    num_classes: int = 0
    cell: Literal["lstm", "gru", "rnn", "rnn_relu"] = "lstm"
    embed_dim: int = 300
    hidden_size: int = 256
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "max+mean"
    mlp_hidden: int = 0
    dropout: float = 0.5
    dropout_input: float = 0.0
    dropout_hidden: float = 0.0
    dropout_kind: Literal["standard", "locked"] = "standard"
    word_dropout: float = 0.0
    forget_bias: float | None = None
    weight_drop: float = 0.0
    backend: Literal["auto", "scratch", "native"] = "auto"

    def __post_init__(self) -> None:
        errors = config_errors(
            self, at_least_0=("vocab_size", "num_classes", "mlp_hidden"),
            at_least_1=("embed_dim", "hidden_size", "num_layers"),
            probabilities=("dropout", "dropout_input", "dropout_hidden", "word_dropout",
                           "weight_drop"),
        )  # fmt: skip
        try:
            parse_pooling(self.pooling)
        except ValueError as err:
            errors.append(str(err))
        if errors:
            raise ValueError("invalid ClassifierConfig: " + "; ".join(errors))

    def vocab_sizes(self) -> dict[str, int]:
        """The vocabularies this model expects, by checkpoint name, and their sizes."""
        return {"words": self.vocab_size, "labels": self.num_classes}

    def replace(self, **changes: Any) -> ClassifierConfig:
        return dataclasses.replace(self, **changes)


@register_model
class SequenceClassifier(nn.Module):
    """Many-to-one classifier implementing rnnlab's model contract.

    ``forward(ids (B, T), lengths (B,)) -> logits (B, C)``;
    ``step(ClassifyBatch(ids, lengths, labels), state) -> StepOutput`` (mean loss per sentence,
    ``sums = {"correct": ...}``).
    """

    model_type: ClassVar[str] = "sequence_classifier"
    unit: ClassVar[str] = "sentences"  # what StepOutput.count counts
    metric_names: ClassVar[tuple[str, ...]] = ("loss", "accuracy")
    config_class: ClassVar[type] = ClassifierConfig

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        if not isinstance(config, ClassifierConfig):
            raise TypeError(f"expected a ClassifierConfig, got {type(config).__name__}")
        if config.vocab_size < 2 or config.num_classes < 2:
            raise ValueError(
                "SequenceClassifier needs vocab_size >= 2 and num_classes >= 2, got "
                f"{config.vocab_size} and {config.num_classes} (set them from the vocabularies)"
            )
        self.config = cfg = config
        self.pooling = parse_pooling(cfg.pooling)
        self.encoder = SentenceEncoder(
            vocab_size=cfg.vocab_size, embed_dim=cfg.embed_dim, hidden_size=cfg.hidden_size,
            cell=cfg.cell, num_layers=cfg.num_layers, bidirectional=cfg.bidirectional,
            dropout_input=cfg.dropout_input, dropout_hidden=cfg.dropout_hidden,
            dropout_kind=cfg.dropout_kind, word_dropout=cfg.word_dropout,
            forget_bias=cfg.forget_bias, weight_drop=cfg.weight_drop, backend=cfg.backend,
        )  # fmt: skip
        features = len(self.pooling) * self.encoder.output_size
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.mlp_hidden:
            self.mlp = nn.Sequential(
                nn.Linear(features, cfg.mlp_hidden), nn.ReLU(), nn.Dropout(cfg.dropout),
                nn.Linear(cfg.mlp_hidden, cfg.num_classes),
            )  # fmt: skip
        else:
            self.mlp = nn.Linear(features, cfg.num_classes)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """Class scores.

        Args:
            ids: (B, T) int64 word ids, right-padded with 0; lengths: (B,) each in 1..T.
        Returns:
            logits (B, C).
        """
        outputs, h_n = self.encoder(ids, lengths)  # (B, T, D*H), (L*D, B, H)
        lengths = lengths.to(outputs.device)
        pooled = pool(outputs, lengths, h_n, self.pooling, self.encoder.directions)  # (B, k*D*H)
        return self.mlp(self.drop(pooled))  # (B, C)

    def export_spec(self):
        """How ``rnnlab export`` writes this model as plain torch.nn: embedding -> the
        recurrent stack -> the pooling -> the head (dropout is the identity at inference)."""
        from rnnlab.export.spec import ExportSpec

        return ExportSpec(
            embedding=self.encoder.embedding,
            recurrent=tuple(self.encoder.recurrent_layers()),
            head=self.mlp,
            readout="final",
            batch_first=True,
            lengths=True,
            pooling=self.pooling,
        )

    @torch.no_grad()
    def predict_proba(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """Class probabilities (B, C) in eval mode (no dropout)."""
        was = self.training
        self.eval()
        try:
            return F.softmax(self(ids, lengths), dim=-1)  # (B, C)
        finally:
            self.train(was)

    # ---- the model contract --------------------------------------------------------

    def initial_state(self, batch_size: int | None, device: Any = None) -> None:
        return None  # stateless: every batch is a set of whole sentences

    def detach_state(self, state: Any) -> None:
        return None

    def step(self, batch, state: Any = None) -> StepOutput:
        """Mean cross-entropy per sentence on one ``ClassifyBatch``; sums ``correct``."""
        ids, lengths, labels = batch[0], batch[1], batch[2]
        logits = self(ids, lengths)  # (B, C)
        loss = F.cross_entropy(logits, labels)
        correct = float((logits.argmax(-1) == labels).sum())
        return StepOutput(loss, float(labels.numel()), None, {"correct": correct})

    def summarize(self, totals: Mapping[str, float]) -> dict[str, float]:
        """Mean loss per sentence and accuracy."""
        return {"loss": float(totals["loss"]), "accuracy": totals["correct"] / totals["count"]}
