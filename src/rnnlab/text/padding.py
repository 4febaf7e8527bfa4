"""Padded batches: a list of variable-length id sequences -> one LongTensor (B, T).

Sequences are laid out batch-first and padded on the right to the longest one::

    [[5, 6, 7],          ids = [[5, 6, 7],      lengths = [3,
     [8],          ->           [8, 0, 0],                 1,
     [9, 4]]                    [9, 4, 0]]                 2]

``lengths_to_mask`` turns the lengths back into a boolean mask (True = real token).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def pad_ids(sequences: Sequence[Sequence[int]], pad_index: int = 0) -> tuple[Tensor, Tensor]:
    """Pad id sequences on the right.

    Arguments:
        sequences: B sequences of non-negative ints (lists, tuples or 1-D integer tensors).
        pad_index: the id written into the padding positions.

    Returns:
        ids: LongTensor (B, T) with T the longest length (T may be 0).
        lengths: LongTensor (B,), the length of each sequence.
    """
    if isinstance(pad_index, bool) or not isinstance(pad_index, int):
        raise TypeError(f"expected pad_index to be an int, got {type(pad_index).__name__}")
    if isinstance(sequences, (str, bytes)):
        raise TypeError("expected a sequence of id sequences, got one str")
    if len(sequences) == 0:
        raise ValueError("expected at least one sequence to pad, got an empty batch")
    rows = []
    for b, seq in enumerate(sequences):
        if isinstance(seq, Tensor):
            if seq.dim() != 1 or seq.dtype.is_floating_point or seq.dtype == torch.bool:
                raise TypeError(
                    f"sequence {b}: expected a 1-D integer tensor, "
                    f"got shape {tuple(seq.shape)} dtype {seq.dtype}"
                )
            seq = seq.tolist()
        elif isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence):
            raise TypeError(f"sequence {b}: expected a sequence of ints, got {type(seq).__name__}")
        for i in seq:
            if not isinstance(i, int) or isinstance(i, bool):
                raise TypeError(f"sequence {b}: expected int ids, got {type(i).__name__} {i!r}")
        rows.append(seq)
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)  # (B,)
    T = int(lengths.max())
    ids = torch.full((len(rows), T), pad_index, dtype=torch.long)  # (B, T)
    for b, row in enumerate(rows):
        if row:
            ids[b, : len(row)] = torch.tensor(row, dtype=torch.long)
    return ids, lengths


def lengths_to_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """Boolean mask (B, T) that is True at real tokens: ``mask[b, t] = t < lengths[b]``.

    Arguments:
        lengths: integer tensor (B,).
        max_len: T; defaults to ``lengths.max()``.
    """
    if lengths.dim() != 1 or lengths.dtype.is_floating_point:
        raise ValueError(
            f"expected integer lengths of shape (B,), got {tuple(lengths.shape)} {lengths.dtype}"
        )
    if max_len is None:
        max_len = int(lengths.max()) if lengths.numel() else 0
    T = max_len
    steps = torch.arange(T, device=lengths.device)  # (T,)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
