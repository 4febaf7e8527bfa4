"""Attention over an encoder's outputs: Bahdanau (additive) and Luong (dot, general).

A decoder state asks "which source positions matter now?": a score per source position,
softmax over the real (unpadded) positions, and the weighted sum of the encoder outputs,
the context vector::

    query q (B, Tq, Hq)   memory m (B, Ts, Hm)   mask (B, Ts), True at real positions

    dot       score(q, m_s) = q . m_s                      (Luong et al. 2015; needs Hq == Hm)
    general   score(q, m_s) = q . (W m_s)                  (Luong et al. 2015)
    additive  score(q, m_s) = v . tanh(W_q q + W_m m_s)    (Bahdanau et al. 2015)

    weights a = softmax_s(score) (B, Tq, Ts)     context = a @ m (B, Tq, Hm)

The part of the score that depends on the memory only (``W m``, ``W_m m``) is computed
once per sentence by :meth:`Attention.keys` and reused at every decoder step.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

ATTENTION_KINDS = ("bahdanau", "dot", "general")


class Attended(NamedTuple):
    """What one attention call returns."""

    context: Tensor  # (B, Tq, Hm) weighted sums of the memory
    weights: Tensor  # (B, Tq, Ts) attention weights; rows sum to 1 over the real positions


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax over the last axis that gives padded positions exactly zero weight.

    Args:
        scores: (B, Tq, Ts); mask: (B, Ts) bool, True at real positions (>= 1 per row).
    Returns:
        weights (B, Tq, Ts).
    """
    scores = scores.masked_fill(~mask[:, None, :], float("-inf"))  # (B, Tq, Ts)
    return torch.softmax(scores, dim=-1)  # (B, Tq, Ts)


class Attention(nn.Module):
    """Score a query against a memory, softmax over the real positions, weighted sum.

    Arguments:
        kind: "dot", "general" or "bahdanau" (additive).
        query_size: Hq, the decoder state size; memory_size: Hm, the encoder output size.
        attention_size: the hidden size of the additive score (bahdanau only; 0: Hq).
    """

    def __init__(
        self, kind: str, query_size: int, memory_size: int, attention_size: int = 0
    ) -> None:
        super().__init__()
        if kind not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {kind!r}")
        if kind == "dot" and query_size != memory_size:
            raise ValueError(
                f"dot attention needs the decoder state size ({query_size}) to equal the "
                f"encoder output size ({memory_size}); use 'general' or 'bahdanau'"
            )
        self.kind = kind
        if kind == "general":
            self.w = nn.Linear(memory_size, query_size, bias=False)
        elif kind == "bahdanau":
            size = attention_size or query_size
            self.w_memory = nn.Linear(memory_size, size, bias=False)
            self.w_query = nn.Linear(query_size, size, bias=True)
            self.v = nn.Linear(size, 1, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        """The memory-only part of the score, computed once per sentence.

        Args:
            memory: (B, Ts, Hm).
        Returns:
            (B, Ts, Hm) for dot (the memory itself), (B, Ts, Hq) for general, (B, Ts, A)
            for bahdanau.
        """
        if self.kind == "dot":
            return memory
        if self.kind == "general":
            return self.w(memory)  # (B, Ts, Hq)
        return self.w_memory(memory)  # (B, Ts, A)

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """Unnormalised scores (B, Tq, Ts) of queries (B, Tq, Hq) against ``keys``."""
        if self.kind in ("dot", "general"):
            return query @ keys.transpose(1, 2)  # (B, Tq, Ts)
        q = self.w_query(query)  # (B, Tq, A)
        hidden = torch.tanh(q[:, :, None, :] + keys[:, None, :, :])  # (B, Tq, Ts, A)
        return self.v(hidden).squeeze(-1)  # (B, Tq, Ts)

    def forward(
        self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None
    ) -> Attended:
        """Attend from ``query`` over ``memory``.

        Args:
            query: (B, Tq, Hq); memory: (B, Ts, Hm); mask: (B, Ts) bool, True at real
                positions; keys: ``self.keys(memory)`` if already computed.
        Returns:
            ``Attended(context (B, Tq, Hm), weights (B, Tq, Ts))``.
        """
        if keys is None:
            keys = self.keys(memory)
        weights = masked_softmax(self.scores(query, keys), mask)  # (B, Tq, Ts)
        return Attended(weights @ memory, weights)  # (B, Tq, Hm), (B, Tq, Ts)
