"""Sentence batches for classification and tagging: bucketed by length, padded per batch.

A batch holds sentences of similar length, padded on the right to its own longest one,
with the true lengths beside the ids (the recurrent core reads only the real steps)::

    sentences by length         one epoch (train)                      a batch (B=3)
    [a b c d e] 5      pool = shuffled chunk of pool_batches*B    ids     = [[a b c d e],
    [f g] 2            sentences, sorted by length inside,                   [h i j k 0],
    [h i j k] 4   ->   cut into batches of B; the batch order  ->            [l m n 0 0]]
    [l m n] 3          is shuffled too                           lengths = [5, 4, 3]

Evaluation data (``shuffle=False``) is sorted by length once, so it wastes the least
padding; ``padding_fraction`` reports the share of padded positions in one epoch.

The order belongs to the data object: ``set_epoch(e)`` fixes epoch e's order with a
``torch.Generator`` seeded from ``(seed, e)``, never the global RNG, so a resumed run sees
exactly the batches an uninterrupted run would. Iterating without ``set_epoch`` repeats
the current epoch's order.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import torch

Example = TypeVar("Example")


class BucketedBatches(Generic[Example]):
    """Re-iterable batches of examples grouped by length.

    Arguments:
        examples: the examples (any objects; ``length(example)`` >= 1 each).
        length: the length of an example (its number of tokens).
        collate: a list of examples -> one batch (e.g. padded tensors).
        batch_size: B, examples per batch (the last batch of a pool may be smaller).
        shuffle: shuffle per epoch (training); False gives one fixed, length-sorted order.
        seed: seeds the per-epoch generator (with the epoch number).
        pool_batches: how many batches' worth of examples are sorted together; larger
            pools waste less padding, smaller ones mix lengths more.
    """

    def __init__(
        self,
        examples: Sequence[Example],
        *,
        length: Callable[[Example], int],
        collate: Callable[[list[Example]], Any],
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        pool_batches: int = 50,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if pool_batches < 1:
            raise ValueError(f"pool_batches must be >= 1, got {pool_batches!r}")
        if len(examples) == 0:
            raise ValueError("expected at least one example to batch, got none")
        self.examples = list(examples)
        self.lengths = [int(length(x)) for x in self.examples]
        short = [i for i, n in enumerate(self.lengths) if n < 1]
        if short:
            raise ValueError(f"example {short[0]} is empty: every example needs >= 1 token")
        self.collate = collate
        self.batch_size = batch_size  # (read by the trainer; our models are stateless)
        self.shuffle, self.seed, self.pool_batches = shuffle, int(seed), int(pool_batches)
        self.epoch = 1
        self._order = self._batches_for(self.epoch)

    def set_epoch(self, epoch: int) -> None:
        """Fix the order of epoch ``epoch`` (1-based); deterministic in (seed, epoch)."""
        self.epoch = int(epoch)
        self._order = self._batches_for(self.epoch)

    def _batches_for(self, epoch: int) -> list[list[int]]:
        """Example indices of each batch, in batch order."""
        n, B = len(self.examples), self.batch_size
        if not self.shuffle:
            order = sorted(range(n), key=lambda i: self.lengths[i])  # stable
            return self._rank_part([order[i : i + B] for i in range(0, n, B)])
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(n, generator=gen).tolist()
        pool = B * self.pool_batches
        batches = []
        for start in range(0, n, pool):
            chunk = sorted(perm[start : start + pool], key=lambda i: self.lengths[i])
            batches.extend(chunk[i : i + B] for i in range(0, len(chunk), B))
        shuffled = torch.randperm(len(batches), generator=gen).tolist()
        return self._rank_part([batches[k] for k in shuffled])

    def shard(self, rank: int, world_size: int) -> BucketedBatches[Example]:
        """Rank ``rank``'s part of every batch, for data-parallel training: each batch of
        epoch e is split into ``world_size`` near-equal parts (the W parts together are the
        one-process batch), and every rank steps through the same number of batches.
        Batches with fewer than W examples are left out (at most a pool's short tail)."""
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in a world of {world_size}")
        part = copy.copy(self)
        part.rank, part.world_size = rank, world_size
        part._order = part._batches_for(part.epoch)
        return part

    def _rank_part(self, batches: list[list[int]]) -> list[list[int]]:
        W, r = getattr(self, "world_size", 1), getattr(self, "rank", 0)
        if W == 1:
            return batches
        out = []
        for indices in batches:
            if len(indices) < W:
                continue
            size, extra = divmod(len(indices), W)  # near-equal contiguous parts
            start = r * size + min(r, extra)
            out.append(indices[start : start + size + (1 if r < extra else 0)])
        return out

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[Any]:
        for indices in self._order:
            yield self.collate([self.examples[i] for i in indices])

    @property
    def num_examples(self) -> int:
        return len(self.examples)

    @property
    def padding_fraction(self) -> float:
        """Padded positions / all positions over this epoch's batches (0 = no waste)."""
        real = padded = 0
        for indices in self._order:
            lengths = [self.lengths[i] for i in indices]
            real += sum(lengths)
            padded += max(lengths) * len(lengths)
        return 1.0 - real / padded
