"""A linear-chain conditional random field over per-token scores (Lafferty et al., 2001).

For one sentence with emission scores e (T, C) and tags y_1..y_T, the CRF scores

    s(y) = start[y_1] + e_1[y_1] + sum_{t=2..T} (trans[y_{t-1}, y_t] + e_t[y_t]) + end[y_T]

and p(y | x) = exp(s(y)) / Z with Z = sum over all C^T tag sequences of exp(s(y')).
``log Z`` comes from the forward algorithm in O(T C^2):

    alpha_1[j] = start[j] + e_1[j]
    alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + trans[i, j]) + e_t[j]
    log Z      = logsumexp_j(alpha_T[j] + end[j])

and the best sequence from Viterbi (the same recursion with max, plus back-pointers).
Batches are padded: at a padded step (t >= lengths[b]) alpha is carried unchanged and the
back-pointer is the identity, so padding never changes a sentence's result. The tests
compare both with brute-force enumeration of every tag sequence (Huang et al. 2015, "
Bidirectional LSTM-CRF models for sequence tagging", use this layer on top of a BiLSTM).

Shapes: B batch, T time, C tags.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.text.padding import lengths_to_mask


class LinearChainCRF(nn.Module):
    """Transition scores between C tags, plus start and end scores.

    ``transitions[i, j]`` scores tag i followed by tag j.
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be >= 1, got {num_tags}")
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.start = nn.Parameter(torch.empty(num_tags))
        self.end = nn.Parameter(torch.empty(num_tags))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in (self.transitions, self.start, self.end):
            nn.init.uniform_(p, -0.1, 0.1)

    def _check(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        if emissions.dim() != 3 or emissions.shape[-1] != self.num_tags:
            raise ValueError(
                f"expected emissions of shape (B, T, C={self.num_tags}), "
                f"got {tuple(emissions.shape)}"
            )
        B, T, _ = emissions.shape
        if lengths.shape != (B,) or int(lengths.min()) < 1 or int(lengths.max()) > T:
            raise ValueError(f"expected lengths (B={B},) each in 1..{T}, got {lengths.tolist()}")
        return lengths_to_mask(lengths.to(emissions.device), T)  # (B, T)

    def sequence_score(self, emissions: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """s(y) of the given tags (B, T) (values at padded steps are ignored) -> (B,)."""
        mask = self._check(emissions, lengths)  # (B, T)
        tags = tags.clamp(min=0)  # (B, T); padding (-1) is masked out below
        emitted = emissions.gather(-1, tags.unsqueeze(-1)).squeeze(-1)  # (B, T)
        moved = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        score = self.start[tags[:, 0]] + (emitted * mask).sum(1)  # (B,)
        score = score + (moved * mask[:, 1:]).sum(1)  # (B,)
        last = tags.gather(1, (lengths.to(tags.device) - 1).unsqueeze(1)).squeeze(1)  # (B,)
        return score + self.end[last]  # (B,)

    def log_partition(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """log Z by the forward algorithm: emissions (B, T, C), lengths (B,) -> (B,)."""
        mask = self._check(emissions, lengths)  # (B, T)
        alpha = self.start + emissions[:, 0]  # (B, C)
        for t in range(1, emissions.shape[1]):
            scores = alpha.unsqueeze(2) + self.transitions  # (B, C_prev, C)
            new = torch.logsumexp(scores, dim=1) + emissions[:, t]  # (B, C)
            alpha = torch.where(mask[:, t : t + 1], new, alpha)  # (B, C)
        return torch.logsumexp(alpha + self.end, dim=1)  # (B,)

    def neg_log_likelihood(self, emissions: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """-log p(tags | x) per sentence (B,): log Z - s(tags)."""
        return self.log_partition(emissions, lengths) - self.sequence_score(
            emissions, tags, lengths
        )

    @torch.no_grad()
    def decode(self, emissions: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Viterbi: the best tag sequence (B, T) (-1 at padding) and its score s(y) (B,)."""
        mask = self._check(emissions, lengths)  # (B, T)
        B, T, C = emissions.shape
        delta = self.start + emissions[:, 0]  # (B, C)
        identity = torch.arange(C, device=emissions.device).expand(B, C)  # (B, C)
        pointers = []
        for t in range(1, T):
            scores = delta.unsqueeze(2) + self.transitions  # (B, C_prev, C)
            best, argbest = scores.max(dim=1)  # (B, C), (B, C)
            keep = mask[:, t : t + 1]  # (B, 1)
            delta = torch.where(keep, best + emissions[:, t], delta)  # (B, C)
            pointers.append(torch.where(keep, argbest, identity))  # (B, C)
        final = delta + self.end  # (B, C)
        score, tag = final.max(dim=1)  # (B,), (B,)
        path = [tag]
        for ptr in reversed(pointers):
            tag = ptr.gather(1, tag.unsqueeze(1)).squeeze(1)  # (B,)
            path.append(tag)
        tags = torch.stack(path[::-1], dim=1)  # (B, T)
        return tags.masked_fill(~mask, -1), score
