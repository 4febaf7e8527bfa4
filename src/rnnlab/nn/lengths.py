"""Variable-length batches: masks, reversal within each sequence's length, PackedSequence.

A padded batch is time-major here, (T, B, *), with ``lengths`` (B,) giving each
sequence's number of real steps. For lengths = [3, 1] and T = 3:

    time ->      mask (T, B)        reverse_index (T, B)
    seq 0: a b c    1 1 1   ->  reversed: c b a     idx: 2 1 0
    seq 1: x . .    1 0 0   ->  reversed: x . .     idx: 0 1 2

Padding positions map to themselves, so reversing twice is the identity and
padded outputs stay where they were (and zero).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = [
    "check_lengths",
    "length_mask",
    "reverse_index",
    "reverse_time",
    "packed_to_padded",
    "padded_to_packed",
]


def check_lengths(lengths: Tensor | Sequence[int] | None, B: int, T: int) -> Tensor | None:
    """Validate ``lengths`` against a batch of B sequences padded to T steps.

    Returns:
        lengths as a CPU int64 tensor (B,), or None if ``lengths`` is None.
    Raises:
        ValueError: wrong shape, non-integer values, or a length outside 1..T.
    """
    if lengths is None:
        return None
    if isinstance(lengths, Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise ValueError(f"expected integer lengths, got dtype {lengths.dtype}")
        lengths = lengths.detach().to("cpu", torch.int64)
    else:
        lengths = list(lengths)
        wrong = [x for x in lengths if isinstance(x, bool) or not isinstance(x, numbers.Integral)]
        if wrong:  # as_tensor(..., int64) would turn 1.5 into 1 and True into 1
            raise ValueError(f"expected integer lengths, got {wrong[0]!r}")
        lengths = torch.as_tensor(lengths, dtype=torch.int64, device="cpu")
    if lengths.dim() != 1 or lengths.shape[0] != B:
        raise ValueError(f"expected lengths of shape ({B},), got {tuple(lengths.shape)}")
    if B and (int(lengths.min()) <= 0 or int(lengths.max()) > T):
        raise ValueError(
            f"expected every length in 1..{T} (T, the padded length), "
            f"got min {int(lengths.min())}, max {int(lengths.max())}"
        )
    return lengths


def length_mask(lengths: Tensor, T: int, device: torch.device | None = None) -> Tensor:
    """mask[t, b] = t < lengths[b]: (T, B) bool, True at real steps."""
    steps = torch.arange(T, device=device).unsqueeze(1)  # (T, 1)
    return steps < lengths.to(device).unsqueeze(0)  # (T, B)


def reverse_index(lengths: Tensor, T: int, device: torch.device | None = None) -> Tensor:
    """idx[t, b] = lengths[b] - 1 - t at real steps, t at padding: (T, B) int64."""
    steps = torch.arange(T, device=device).unsqueeze(1)  # (T, 1)
    lengths = lengths.to(device).unsqueeze(0)  # (1, B)
    return torch.where(steps < lengths, lengths - 1 - steps, steps)  # (T, B)


def reverse_time(x: Tensor, index: Tensor | None) -> Tensor:
    """Reverse each sequence of x (T, B, F) within its own length (index from
    ``reverse_index``); with index None, reverse the whole time axis. Returns (T, B, F)."""
    if index is None:
        return x.flip(0)
    return x.gather(0, index.unsqueeze(2).expand_as(x))  # (T, B, F)


def packed_to_padded(packed: PackedSequence) -> tuple[Tensor, Tensor]:
    """PackedSequence -> (padded (T, B, *) time-major, lengths (B,) CPU int64), in the
    batch order the sequences had before packing."""
    padded, lengths = pad_packed_sequence(packed, batch_first=False)
    return padded, lengths


def padded_to_packed(padded: Tensor, lengths: Tensor) -> PackedSequence:
    """(T, B, *) time-major padded batch -> PackedSequence (any order of lengths)."""
    return pack_padded_sequence(padded, lengths, batch_first=False, enforce_sorted=False)
