"""Seeded synthetic tasks that need memory over a known distance.

Each generator draws a batch from a ``torch.Generator`` (same seed, same batch) and
returns ``(x, y)``:

    task              x                          y                        needs
    first_token_copy  (B, T) tokens in [0, V)    (B,) = x[:, 0]           1 token over T steps
    delayed_recall    (B, T) tokens in [0, V)    (B,) = x[:, T-1-delay]   1 token over `delay` steps
    parity            (B, T) bits in {0, 1}      (B,) = sum(x) mod 2      every step combined
    mean_sign         (B, T, 1) reals ~ N(0, 1)  (B,) = [mean(x) > 0]     T values integrated
    adding            (B, T, 2): value ~ U(0,1)  (B,) float: the sum of   2 values over ~T/2 steps
                      and a marker (1 at two     the two marked values    (Hochreiter &
                      positions)                 (regression)             Schmidhuber 1997)

``TASKS`` describes them uniformly (input kind and size, classes) so that the
experiments can build one model per task and cell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "first_token_copy",
    "generate_first_token_copy_data",
    "delayed_recall",
    "parity",
    "mean_sign",
    "adding",
    "TaskSpec",
    "TASKS",
    "generator",
]


def generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


def _check(batch_size: int, seq_len: int, min_len: int = 1) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if seq_len < min_len:
        raise ValueError(f"seq_len must be >= {min_len}, got {seq_len}")


def first_token_copy(
    batch_size: int, seq_len: int, vocab_size: int = 5, gen: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """T random tokens from a vocabulary of V; the label is the first token.

    Returns: x (B, T) int64 in [0, V), y (B,) int64.
    """
    _check(batch_size, seq_len)
    x = torch.randint(0, vocab_size, (batch_size, seq_len), generator=gen)  # (B, T)
    return x, x[:, 0].clone()


def generate_first_token_copy_data(
    batch_size: int, seq_len: int, vocab_size: int = 5, gen: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """The course notes' name for ``first_token_copy``: x (B, T) int64, y (B,) = x[:, 0]."""
    return first_token_copy(batch_size, seq_len, vocab_size, gen)


def delayed_recall(
    batch_size: int,
    seq_len: int,
    vocab_size: int = 5,
    delay: int | None = None,
    gen: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """T random tokens; the label is the token seen ``delay`` steps before the end.

    delay=None means T - 1 (then this is ``first_token_copy``).
    Returns: x (B, T) int64, y (B,) int64 = x[:, T - 1 - delay].
    """
    _check(batch_size, seq_len)
    delay = seq_len - 1 if delay is None else delay
    if not 0 <= delay < seq_len:
        raise ValueError(f"delay must be in [0, {seq_len - 1}], got {delay}")
    x = torch.randint(0, vocab_size, (batch_size, seq_len), generator=gen)  # (B, T)
    return x, x[:, seq_len - 1 - delay].clone()


def parity(
    batch_size: int, seq_len: int, gen: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """T random bits; the label is their XOR. Returns x (B, T) int64, y (B,) int64."""
    _check(batch_size, seq_len)
    x = torch.randint(0, 2, (batch_size, seq_len), generator=gen)  # (B, T)
    return x, x.sum(dim=1) % 2


def mean_sign(
    batch_size: int, seq_len: int, gen: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """T reals ~ N(0, 1); the label is 1 when their mean is positive.

    Returns: x (B, T, 1) float32, y (B,) int64.
    """
    _check(batch_size, seq_len)
    x = torch.randn(batch_size, seq_len, 1, generator=gen)  # (B, T, 1)
    return x, (x.mean(dim=(1, 2)) > 0).long()


def adding(
    batch_size: int, seq_len: int, gen: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """The adding problem: sum the two values whose marker is 1.

    One marked position is drawn from the first half, one from the second half, so the
    model must carry a value over about T/2 steps.
    Returns: x (B, T, 2) float32 (value, marker), y (B,) float32 in [0, 2].
    """
    _check(batch_size, seq_len, min_len=2)
    values = torch.rand(batch_size, seq_len, generator=gen)  # (B, T)
    half = seq_len // 2
    first = torch.randint(0, half, (batch_size,), generator=gen)
    second = torch.randint(half, seq_len, (batch_size,), generator=gen)
    markers = torch.zeros(batch_size, seq_len)
    rows = torch.arange(batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=2)  # (B, T, 2)
    return x, (values * markers).sum(dim=1)


@dataclass(frozen=True)
class TaskSpec:
    """How a task looks to a model.

    input_kind: "tokens" (x (B, T) int64 in [0, input_size)) or "real" (x (B, T, input_size)).
    num_classes: C for classification (y (B,) int64), 0 for regression (y (B,) float).
    sample: sample(batch_size, seq_len, gen) -> (x, y).
    """

    name: str
    input_kind: str
    input_size: int
    num_classes: int
    sample: Callable[[int, int, torch.Generator | None], tuple[Tensor, Tensor]]
    description: str

    def chance(self) -> float:
        """Accuracy of guessing (1 / C); for regression, the tolerance-accuracy of predicting 1."""
        return 1.0 / self.num_classes if self.num_classes else float("nan")


def _copy_sample(b, t, g):
    return first_token_copy(b, t, 5, g)


def _recall_sample(b, t, g):
    return delayed_recall(b, t, 5, t // 2, g)


TASKS: dict[str, TaskSpec] = {
    "copy": TaskSpec("copy", "tokens", 5, 5, _copy_sample, "first-token copy, V = 5"),
    "recall": TaskSpec(
        "recall", "tokens", 5, 5, _recall_sample, "delayed recall at delay T/2, V = 5"
    ),
    "parity": TaskSpec("parity", "tokens", 2, 2, parity, "parity of T bits"),
    "mean_sign": TaskSpec("mean_sign", "real", 1, 2, mean_sign, "is the mean of T reals > 0"),
    "adding": TaskSpec("adding", "real", 2, 0, adding, "adding problem (regression)"),
}
