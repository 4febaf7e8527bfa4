"""Language-model batching: one token stream -> B parallel columns -> windows of bptt steps.

A corpus is one long stream of token ids (sentences joined, each ending in ``<eos>``).
``batchify`` cuts it into B equal pieces laid side by side as the columns of a matrix;
the few tokens that do not fill a last row are dropped. With the alphabet as a stream
and B = 4:

    stream:  a b c d e f g h i j k l m n o p q r s t u v w x y z

    batchify(stream, 4)        (N // B, B) = (6, 4)
        ┌ a g m s ┐
        │ b h n t │
        │ c i o u │
        │ d j p v │
        │ e k q w │
        └ f l r x ┘          (y z dropped)

Each column is read top to bottom, so a recurrent state carried from one window to
the next continues the same text (stateful truncated BPTT). ``LMBatches`` then cuts
the rows into windows of ``bptt`` steps; the target of each input is the next row:

    bptt = 2, window 0:   inputs ┌ a g m s ┐   targets ┌ b h n t ┐
                                 └ b h n t ┘           └ c i o u ┘
              window 1:   inputs ┌ c i o u ┐   targets ┌ d j p v ┐ ...

Windows are time-major, (T, B), as the recurrent layers are. The same code serves
word-level and character-level models: only the tokens differ (``char_stream``).

Optionally the window length is randomised per window as in AWD-LSTM (Merity et al.,
2018): with probability 0.95 around ``bptt``, otherwise around ``bptt / 2``, with normal
noise of standard deviation ``bptt_std``; so that training does not always cut the
stream at the same places.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["LMBatch", "LMBatches", "batchify", "encode_stream", "char_stream"]


class LMBatch(NamedTuple):
    """One window: ``inputs`` and ``targets``, both (T, B) int64; targets = inputs shifted by 1."""

    inputs: Tensor
    targets: Tensor

    def to(self, device: torch.device | str) -> LMBatch:
        return LMBatch(self.inputs.to(device), self.targets.to(device))

    @property
    def num_tokens(self) -> int:
        return self.targets.numel()


def encode_stream(tokens: Iterable[str], vocab) -> Tensor:
    """Map a token sequence to a 1-d int64 tensor of ids (N,) with ``vocab.encode``.

    Raises:
        ValueError: the stream is empty.
    """
    ids = vocab.encode(list(tokens))
    stream = torch.as_tensor(ids, dtype=torch.long)
    if stream.numel() == 0:
        raise ValueError("cannot build language-model batches from an empty token stream")
    return stream


def char_stream(text: str, newline: str = "\n") -> list[str]:
    """Character-level tokens of ``text``: every character is a token, newlines included.

    >>> char_stream("ab c\\nd")
    ['a', 'b', ' ', 'c', '\\n', 'd']
    """
    return [newline if ch == "\n" else ch for ch in text]


def _check_count(name: str, value) -> None:
    """``value`` must be an int >= 1 (not a bool, not 2.5: windows are sliced with it)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= 1, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


def batchify(stream: Tensor, batch_size: int) -> Tensor:
    """Lay a 1-d stream (N,) into ``batch_size`` columns: returns (N // B, B).

    Column b holds tokens ``stream[b * (N // B) : (b + 1) * (N // B)]``; the last
    ``N % B`` tokens are dropped (see the picture in the module docstring).

    Raises:
        ValueError: the stream is not 1-d, or has fewer than 2 tokens per column.
    """
    if stream.dim() != 1:
        raise ValueError(f"expected a 1-d token stream (N,), got shape {tuple(stream.shape)}")
    _check_count("batch_size", batch_size)
    rows = stream.numel() // batch_size
    if rows < 2:
        raise ValueError(
            f"a stream of {stream.numel()} tokens is too short for {batch_size} columns "
            "(need at least 2 tokens per column)"
        )
    return stream[: rows * batch_size].view(batch_size, rows).t().contiguous()  # (N // B, B)


class LMBatches:
    """Iterate over (T, B) windows of a batchified stream for truncated BPTT.

    Args:
        stream: (N,) int64 token ids.
        batch_size: B, the number of parallel columns.
        bptt: T, the (mean) window length.
        random_bptt: randomise window lengths as in AWD-LSTM (training only).
        bptt_std: standard deviation of the random length.
        min_bptt: shortest random window.
        seed: with ``random_bptt``, the window lengths of epoch e are drawn from a generator
            seeded with (seed, e) (see ``set_epoch``), never from torch's global RNG: the
            data owns its order, so a run resumed mid-epoch sees the same windows.
        generator: use this generator instead (its state then advances across epochs).
        device: where the windows are placed.

    Yields:
        ``LMBatch(inputs (T, B), targets (T, B))``; the last window may be shorter.
    """

    def __init__(
        self,
        stream: Tensor,
        batch_size: int,
        bptt: int,
        *,
        random_bptt: bool = False,
        bptt_std: float = 5.0,
        min_bptt: int = 5,
        seed: int = 0,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        _check_count("bptt", bptt)
        _check_count("min_bptt", min_bptt)  # 0 would give empty windows
        if isinstance(bptt_std, bool) or not isinstance(bptt_std, numbers.Real):
            raise ValueError(f"bptt_std must be a number >= 0, got {bptt_std!r}")
        if not (math.isfinite(bptt_std) and bptt_std >= 0):
            raise ValueError(f"bptt_std must be finite and >= 0, got {bptt_std}")
        self.data = batchify(stream, batch_size)  # (N // B, B)
        if device is not None:
            self.data = self.data.to(device)
        self.batch_size = batch_size
        self.bptt = bptt
        self.random_bptt = random_bptt
        self.bptt_std = bptt_std
        self.min_bptt = min_bptt
        self.generator = generator
        self.seed = seed
        self.epoch = 1

    def shard(self, rank: int, world_size: int) -> LMBatches:
        """Rank ``rank``'s share of the columns for data-parallel training: columns
        ``[rank * B/W, (rank + 1) * B/W)``. The W shards together are this batch, and each
        column's carried state stays on one rank; window lengths are the same on every rank.

        Raises:
            ValueError: B is not divisible by W.
        """
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in a world of {world_size}")
        if self.batch_size % world_size:
            raise ValueError(
                f"batch size {self.batch_size} cannot be split over {world_size} processes; "
                "choose data.batch_size divisible by the number of processes"
            )
        per = self.batch_size // world_size
        part = copy.copy(self)
        part.data = self.data[:, rank * per : (rank + 1) * per]  # (N // B, B / W)
        part.batch_size = per
        return part

    def set_epoch(self, epoch: int) -> None:
        """Fix the random window lengths of the passes that follow to those of ``epoch``."""
        self.epoch = int(epoch)

    def _generator(self) -> torch.Generator | None:
        if not self.random_bptt or self.generator is not None:
            return self.generator
        return torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)

    @property
    def num_tokens(self) -> int:
        """Number of predicted tokens in one pass: (rows - 1) * B."""
        return (self.data.shape[0] - 1) * self.batch_size

    def __len__(self) -> int:
        """Number of windows in one pass (exact for fixed bptt, approximate when random)."""
        return math.ceil((self.data.shape[0] - 1) / self.bptt)

    def window_lengths(self, generator: torch.Generator | None = None) -> list[int]:
        """The window lengths of one pass, summing to rows - 1."""
        total = self.data.shape[0] - 1
        lengths: list[int] = []
        start = 0
        while start < total:
            if self.random_bptt:
                base = self.bptt if torch.rand((), generator=generator) < 0.95 else self.bptt / 2
                noisy = base + self.bptt_std * float(torch.randn((), generator=generator))
                length = max(self.min_bptt, int(noisy))
            else:
                length = self.bptt
            length = min(length, total - start)
            lengths.append(length)
            start += length
        return lengths

    def __iter__(self) -> Iterator[LMBatch]:
        start = 0
        for length in self.window_lengths(self._generator()):
            inputs = self.data[start : start + length]  # (T, B)
            targets = self.data[start + 1 : start + 1 + length]  # (T, B)
            yield LMBatch(inputs, targets)
            start += length
