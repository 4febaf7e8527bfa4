"""WordEmbedding: a (V, E) lookup table from token ids to vectors.

Row ``padding_idx`` (default 0, the Vocabulary's ``<PAD>``) is zero at
initialisation and receives no gradient, so it stays zero under any optimiser
whose update is zero for a zero gradient (SGD with momentum, Adam, AdamW).
The parameter is called ``weight``, as in ``torch.nn.Embedding``, so state dicts
load either way.

    >>> emb = WordEmbedding(vocab_size=10, embed_dim=4)
    >>> emb(torch.tensor([[2, 3, 0]])).shape      # (B, T) -> (B, T, E)
    torch.Size([1, 3, 4])
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import Tensor, nn

INITS = ("normal", "xavier")


class WordEmbedding(nn.Module):
    """Token ids (B, T) -> vectors (B, T, E).

    Arguments:
        vocab_size: V, the number of rows.
        embed_dim: E, the vector size.
        padding_idx: the row kept at zero with zero gradient; None for none.
            Negative values count from the end, as in torch.nn.Embedding.
        init: ``"normal"`` (N(0, std^2)) or ``"xavier"`` (Glorot uniform).
        std: the standard deviation for ``init="normal"``.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        padding_idx: int | None = 0,
        init: str = "normal",
        std: float = 0.1,
    ):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_dim", embed_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if isinstance(std, bool) or not isinstance(std, numbers.Real) or not 0 < std < math.inf:
            raise ValueError(f"std must be a finite number > 0, got {std!r}")
        if padding_idx is not None:
            if not -vocab_size <= padding_idx < vocab_size:
                raise ValueError(
                    f"padding_idx must be in [-{vocab_size}, {vocab_size}), got {padding_idx}"
                )
            padding_idx %= vocab_size
        self.vocab_size, self.embed_dim = vocab_size, embed_dim
        self.padding_idx, self.init, self.std = padding_idx, init, std
        self.weight = nn.Parameter(torch.empty(vocab_size, embed_dim))  # (V, E)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.init == "normal":
                self.weight.normal_(0.0, self.std)
            else:
                nn.init.xavier_uniform_(self.weight)
            if self.padding_idx is not None:
                self.weight[self.padding_idx].zero_()

    @classmethod
    def from_pretrained(
        cls, weight: Tensor, padding_idx: int | None = 0, freeze: bool = False
    ) -> WordEmbedding:
        """Wrap an existing (V, E) table (copied; the padding row is kept as given)."""
        if weight.dim() != 2:
            raise ValueError(f"expected a (V, E) weight, got shape {tuple(weight.shape)}")
        emb = cls(weight.shape[0], weight.shape[1], padding_idx=padding_idx)
        with torch.no_grad():
            emb.weight.copy_(weight)
        emb.weight.requires_grad_(not freeze)
        return emb

    def forward(self, ids: Tensor) -> Tensor:
        """ids: integer tensor of any shape, e.g. (B, T) -> (B, T, E)."""
        if not isinstance(ids, Tensor):
            raise TypeError(f"expected a tensor of token ids, got {type(ids).__name__}")
        if ids.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"expected integer ids (torch.long or torch.int), got {ids.dtype}")
        if ids.numel() and bool(((ids < 0) | (ids >= self.vocab_size)).any()):
            bad = ids[(ids < 0) | (ids >= self.vocab_size)][0].item()
            raise IndexError(
                f"token id {bad} is out of range for an embedding of vocab_size {self.vocab_size}"
            )
        # F.embedding with padding_idx gives that row a zero gradient.
        return F.embedding(ids, self.weight, padding_idx=self.padding_idx)  # (*, E)

    def extra_repr(self) -> str:
        return (
            f"{self.vocab_size}, {self.embed_dim}, padding_idx={self.padding_idx}, "
            f"init={self.init!r}"
        )
