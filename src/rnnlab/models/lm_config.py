"""``LMConfig``: the architecture of a ``LanguageModel``, checked when it is built.

A frozen dataclass (saved in checkpoints as JSON). Construction refuses wrong types
(a size of 2.5, a bool, a string where a number belongs), non-finite numbers, and values
out of range, listing every problem at once in one ``ValueError``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["LMConfig"]

CELLS = ("lstm", "gru", "rnn", "rnn_relu")
DROPOUT_KINDS = ("standard", "locked")
BACKENDS = ("auto", "scratch", "native", "fused")


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
        top_hidden_size: H of the top layer (0 = hidden_size); with another value the state
            is a tuple of per-layer states.
        ar_alpha, tar_beta: AR and TAR weights (0 = off), added to the training loss only.
        forget_bias: LSTM forget-gate bias (None = the layer's default init).
        init_range: if set, every weight uniform in (-init_range, init_range) and the
            decoder bias 0 (Zaremba et al.); else the layers' own init and the embedding /
            decoder uniform in (-0.1, 0.1).
        backend: the recurrent layers' execution path, "auto", "scratch", "native" or "fused".
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
    backend: Literal["auto", "scratch", "native", "fused"] = "auto"
    top_hidden_size: int = 0
    ar_alpha: float = 0.0
    tar_beta: float = 0.0

    def __post_init__(self) -> None:
        errors = _type_errors(self)
        if errors:  # the range checks below would fail on the wrong types
            raise ValueError("invalid LMConfig: " + "; ".join(errors))
        if self.vocab_size < 0:
            errors.append(f"vocab_size must be >= 0, got {self.vocab_size}")
        if self.cell not in CELLS:
            errors.append(f"cell must be lstm, gru, rnn or rnn_relu, got {self.cell!r}")
        for name in ("embed_dim", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                errors.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.proj_size < 0:
            errors.append(f"proj_size must be >= 0, got {self.proj_size}")
        if self.init_range is not None and not self.init_range > 0:
            errors.append(f"init_range must be > 0 or None, got {self.init_range}")
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
            if p is not None and not 0.0 <= p < 1.0:  # NaN fails this too
                errors.append(f"{name} must be in [0, 1), got {p}")
        if self.top_hidden_size < 0 or (
            self.per_layer_sizes and (self.num_layers < 2 or self.proj_size)
        ):
            errors.append(
                "top_hidden_size needs num_layers >= 2 and proj_size = 0, got top_hidden_size="
                f"{self.top_hidden_size}, num_layers={self.num_layers}, proj_size={self.proj_size}"
            )
        for name in ("ar_alpha", "tar_beta"):
            if getattr(self, name) < 0:
                errors.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.dropout_kind not in DROPOUT_KINDS:
            errors.append(f"dropout_kind must be 'standard' or 'locked', got {self.dropout_kind!r}")
        if self.backend not in BACKENDS:
            errors.append(f"backend must be one of {BACKENDS}, got {self.backend!r}")
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
        return self.proj_size or self.hidden_sizes[-1]

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        """H of each layer, bottom to top."""
        top = self.top_hidden_size or self.hidden_size
        return (self.hidden_size,) * (self.num_layers - 1) + (top,)

    @property
    def per_layer_sizes(self) -> bool:
        """Whether the top layer's size differs from the others' (per-layer states)."""
        return self.top_hidden_size not in (0, self.hidden_size)

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

    def describe(self) -> str:
        """The sizes in one line, e.g. "lstm, V=10000, E=200, H=200, L=2"."""
        proj = f", P={self.proj_size}" if self.proj_size else ""
        proj += f", top H={self.top_hidden_size}" if self.per_layer_sizes else ""
        return (
            f"{self.cell}, V={self.vocab_size}, E={self.embed_dim}, H={self.hidden_size}{proj}, "
            f"L={self.num_layers}" + (", tied" if self.tie_weights else "")
        )


_INT_FIELDS = (
    "vocab_size",
    "embed_dim",
    "hidden_size",
    "num_layers",
    "proj_size",
    "top_hidden_size",
)
_FLOAT_FIELDS = ("dropout", "embedding_dropout", "weight_drop", "ar_alpha", "tar_beta")
_OPTIONAL_FLOAT_FIELDS = ("dropout_input", "dropout_hidden", "forget_bias", "init_range")


def _type_errors(cfg: LMConfig) -> list[str]:
    """What in ``cfg`` has the wrong type: sizes must be ints (not bools or floats such as
    2.5), probabilities and biases finite numbers, ``tie_weights`` a bool."""
    errors = []
    for name in _INT_FIELDS:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            errors.append(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    for name in _FLOAT_FIELDS + _OPTIONAL_FLOAT_FIELDS:
        value = getattr(cfg, name)
        if value is None and name in _OPTIONAL_FLOAT_FIELDS:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            errors.append(f"{name} must be a number, got {type(value).__name__} {value!r}")
        elif not math.isfinite(value):
            errors.append(f"{name} must be finite, got {value!r}")
    if not isinstance(cfg.tie_weights, bool):
        errors.append(f"tie_weights must be true or false, got {cfg.tie_weights!r}")
    for name in ("cell", "dropout_kind", "backend"):
        if not isinstance(getattr(cfg, name), str):
            errors.append(f"{name} must be a string, got {getattr(cfg, name)!r}")
    return errors
