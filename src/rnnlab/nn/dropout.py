"""Dropout for recurrent language models: locked (variational) and embedding dropout.

Standard dropout draws a fresh mask for every element at every time step. For
recurrent networks two structured variants regularise better:

* ``LockedDropout`` draws **one mask per sequence** (per batch column and feature)
  and reuses it at every time step: the "variational" dropout of Gal & Ghahramani
  (2016), used between layers in AWD-LSTM (Merity, Keskar & Socher, 2018).
* ``EmbeddingDropout`` drops **whole rows of the embedding matrix**, i.e. every
  occurrence of a word in the batch is dropped together (Gal & Ghahramani, 2016,
  section 4.2), and rescales the kept rows by 1 / (1 - p).

Weight drop (DropConnect on hidden-to-hidden weights) is an option of the recurrent
layers themselves (``rnnlab.nn.LSTM(..., weight_drop=p)``).

Both modules are the identity in evaluation mode or when ``p == 0``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.nn._checks import check_probability

__all__ = ["LockedDropout", "EmbeddingDropout"]


def _check_p(p: float) -> float:
    """A dropout probability in [0, 1) (p = 1 would divide by zero when rescaling)."""
    return check_probability("dropout probability", p, inclusive_one=False)


class LockedDropout(nn.Module):
    """Dropout with one mask per sequence, reused at every time step.

    Args:
        p: probability of zeroing a feature.
        batch_first: whether inputs are (B, T, H) instead of (T, B, H).

    Shapes:
        input (T, B, H) (or (B, T, H) with ``batch_first``) -> output of the same shape.
        The mask has shape (1, B, H) (or (B, 1, H)): the same features of the same
        sequence are dropped at every step.
    """

    def __init__(self, p: float = 0.5, batch_first: bool = False) -> None:
        super().__init__()
        self.p = _check_p(p)
        if not isinstance(batch_first, bool):  # "no" is truthy
            raise TypeError(f"expected batch_first to be True or False, got {batch_first!r}")
        self.batch_first = batch_first

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.dim() != 3:
            raise ValueError(f"LockedDropout expects a 3-d input (T, B, H), got {tuple(x.shape)}")
        time_dim = 1 if self.batch_first else 0
        mask_shape = list(x.shape)
        mask_shape[time_dim] = 1  # (1, B, H) or (B, 1, H)
        keep = 1.0 - self.p
        mask = x.new_empty(mask_shape).bernoulli_(keep).div_(keep)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}, batch_first={self.batch_first}"


class EmbeddingDropout(nn.Module):
    """Look up embeddings, dropping whole words (rows of the weight) during training.

    This wraps an ``nn.Embedding`` rather than owning one, so the embedding weight can
    still be tied to a decoder.

    Args:
        embedding: the ``nn.Embedding`` whose rows are dropped.
        p: probability of dropping a word type (all its occurrences in the batch).

    Shapes:
        input: integer tensor of any shape (...) -> output (..., E).
    """

    def __init__(self, embedding: nn.Embedding, p: float = 0.1) -> None:
        super().__init__()
        self.embedding = embedding
        self.p = _check_p(p)

    def forward(self, tokens: Tensor) -> Tensor:
        weight = self.embedding.weight  # (V, E)
        if self.training and self.p > 0.0:
            keep = 1.0 - self.p
            mask = weight.new_empty(weight.shape[0], 1).bernoulli_(keep).div_(keep)  # (V, 1)
            weight = weight * mask
        return F.embedding(
            tokens,
            weight,
            self.embedding.padding_idx,
            self.embedding.max_norm,
            self.embedding.norm_type,
            self.embedding.scale_grad_by_freq,
            self.embedding.sparse,
        )

    def extra_repr(self) -> str:
        return f"p={self.p}"


def dropout_like(p: float) -> nn.Module:
    """``nn.Dropout(p)`` or ``nn.Identity()`` when p == 0 (keeps graphs and reprs small)."""
    return nn.Dropout(_check_p(p)) if p > 0 else nn.Identity()
