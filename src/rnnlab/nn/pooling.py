"""Pooling a padded sequence of vectors into one vector per sequence, over real steps only.

    outputs (B, T, F), lengths (B,) --pool--> (B, F)  (or (B, k*F) for a concatenation)

* ``last``: the recurrent layer's final state at each sequence's true length; for a
  bidirectional layer the forward direction's state after the last word and the backward
  direction's state after the first word (both have read the whole sentence);
* ``mean``: the average over the ``lengths[b]`` real steps;
* ``max``: the element-wise maximum over the real steps (padding never wins);
* ``"max+mean"`` etc.: any ``+``-joined combination, concatenated in the order given.

Padding never changes the result, so a sentence gives the same vector alone and in a batch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.text.padding import lengths_to_mask

POOLINGS = ("last", "mean", "max")


def parse_pooling(spec: str) -> tuple[str, ...]:
    """``"max+mean"`` -> ``("max", "mean")``; ValueError naming the bad part."""
    parts = tuple(p.strip() for p in spec.split("+"))
    bad = [p for p in parts if p not in POOLINGS]
    if bad or not parts or len(set(parts)) != len(parts):
        raise ValueError(
            f"pooling must be '+'-joined distinct names from {list(POOLINGS)}, got {spec!r}"
        )
    return parts


def final_states(h_n: Tensor, num_directions: int) -> Tensor:
    """The top layer's final state of each direction, concatenated.

    Args:
        h_n: (L*D, B, H) final states of a recurrent layer (torch.nn's layout).
    Returns:
        (B, D*H).
    """
    top = h_n[-num_directions:]  # (D, B, H)
    return torch.cat(list(top), dim=-1)  # (B, D*H)


def masked_mean(outputs: Tensor, lengths: Tensor) -> Tensor:
    """outputs (B, T, F), lengths (B,) -> the mean over real steps (B, F)."""
    mask = lengths_to_mask(lengths, outputs.shape[1]).unsqueeze(-1)  # (B, T, 1)
    total = (outputs * mask).sum(dim=1)  # (B, F)
    return total / lengths.to(outputs.dtype).unsqueeze(-1)  # (B, F)


def masked_max(outputs: Tensor, lengths: Tensor) -> Tensor:
    """outputs (B, T, F), lengths (B,) -> the maximum over real steps (B, F)."""
    mask = lengths_to_mask(lengths, outputs.shape[1]).unsqueeze(-1)  # (B, T, 1)
    return outputs.masked_fill(~mask, float("-inf")).amax(dim=1)  # (B, F)


def pool(
    outputs: Tensor, lengths: Tensor, h_n: Tensor | None, kinds: tuple[str, ...], directions: int
) -> Tensor:
    """Concatenate the poolings ``kinds`` (see the module docstring).

    Args:
        outputs: (B, T, F) layer outputs, F = D*H.
        lengths: (B,) real steps per sequence, on the same device.
        h_n: (L*D, B, H) final states (needed for ``last``).
    Returns:
        (B, len(kinds) * F).
    """
    pieces = []
    for kind in kinds:
        if kind == "last":
            if h_n is None:
                raise ValueError("pooling 'last' needs the layer's final states h_n")
            pieces.append(final_states(h_n, directions))  # (B, F)
        elif kind == "mean":
            pieces.append(masked_mean(outputs, lengths))  # (B, F)
        else:
            pieces.append(masked_max(outputs, lengths))  # (B, F)
    return torch.cat(pieces, dim=-1)  # (B, k*F)
