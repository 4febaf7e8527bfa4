"""Whole-layer CUDA-graph capture: the time loop's forward and backward replayed as graphs.

A scratch or fused layer launches a handful of kernels per step; at small B and H the
GPU waits on Python and the launch queue, not on arithmetic. ``GraphedRecurrent`` wraps a
recurrent layer and, per input signature (``graph_key``), captures its forward (and, in
training, its backward, through ``torch.cuda.make_graphed_callables``) once, then replays:

    call(x, hx) ─ blocker? ─ yes ─▶ the layer, uncaptured (``backend_reason`` says why)
                     │ no
                     ▼
                key = (training, grad, shapes, dtypes, ...) ─ cached? ─ no ─▶ capture (evict LRU)
                     │ yes
                     ▼
                copy into the static inputs, replay, return the outputs

The cache holds at most ``max_graphs`` signatures (each graph keeps its own static buffers
and memory pool); the least recently used one is dropped first. Inputs that change the
work per batch cannot be captured and fall back (``capture_blocker``): PackedSequence
input, ``lengths`` (the masks are built from host-side lengths), CPU tensors. Pad batches
to a few bucketed lengths (``bucket_length``) to keep the number of signatures small.

Reference: CUDA graphs in PyTorch, https://pytorch.org/docs/stable/notes/cuda.html#cuda-graphs
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

__all__ = ["GraphedRecurrent", "graph_key", "capture_blocker", "bucket_length"]


def bucket_length(T: int, buckets: Sequence[int]) -> int:
    """The smallest bucket >= T (pad a batch of T steps to it); T itself beyond the largest.

    >>> bucket_length(23, (16, 32, 64))
    32
    """
    fitting = [b for b in sorted(buckets) if b >= T]
    return fitting[0] if fitting else T


def capture_blocker(layer: nn.Module, input, lengths) -> str | None:
    """Why this call cannot replay a captured graph (None: it can)."""
    if isinstance(input, PackedSequence):
        return "a PackedSequence input (its batch sizes change the work per batch)"
    if not isinstance(input, Tensor) or not input.is_cuda:
        return "CUDA graphs need CUDA tensors"
    if lengths is not None:
        return "lengths given (the masks are built from host-side lengths per batch)"
    return None


def _states(hx) -> tuple[Tensor, ...]:
    if hx is None:
        return ()
    return tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)


def graph_key(layer: nn.Module, input: Tensor, hx) -> tuple:
    """The signature a captured graph is valid for: mode, training, grad, autocast, and the
    shape, dtype, device and requires_grad of every input tensor."""
    tensors = (input, *_states(hx))
    return (
        layer.mode,
        layer.training,
        torch.is_grad_enabled(),
        torch.is_autocast_enabled(),
        tuple((tuple(t.shape), t.dtype, str(t.device), t.requires_grad) for t in tensors),
    )


class _FlatCall(nn.Module):
    """The layer as a function of tensors only, returning a flat tuple (what graphs need)."""

    def __init__(self, layer: nn.Module, lstm: bool) -> None:
        super().__init__()
        self.layer, self.lstm = layer, lstm

    def forward(self, x: Tensor, *states: Tensor) -> tuple[Tensor, ...]:
        hx = None if not states else (tuple(states) if self.lstm else states[0])
        out, final = self.layer(x, hx)
        return (out, *final) if self.lstm else (out, final)


class _InferenceGraph:
    """A forward captured with ``torch.cuda.CUDAGraph`` under no_grad: static in, static out."""

    def __init__(self, fn: nn.Module, sample: tuple[Tensor, ...], warmup: int) -> None:
        self.inputs = tuple(t.clone() for t in sample)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(warmup):
                fn(*self.inputs)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.no_grad():
            self.outputs = fn(*self.inputs)

    def __call__(self, *tensors: Tensor) -> tuple[Tensor, ...]:
        for static, t in zip(self.inputs, tensors):
            static.copy_(t)
        self.graph.replay()
        return tuple(o.clone() for o in self.outputs)


class GraphedRecurrent(nn.Module):
    """A recurrent layer (``rnnlab.nn.RNN`` / ``LSTM`` / ``GRU``) replayed from CUDA graphs.

    Args:
        layer: the layer; its parameters are shared (gradients land in ``layer``'s).
        max_graphs: at most this many captured signatures are kept (LRU).
        warmup: eager calls before each capture (cuBLAS / Triton autotuning, allocator).
    ``forward(input, hx=None, lengths=None)`` is the layer's; after each call
    ``last_backend`` / ``backend_reason`` say what ran, and ``captured`` whether a graph did.
    """

    def __init__(self, layer: nn.Module, max_graphs: int = 8, warmup: int = 3) -> None:
        super().__init__()
        if max_graphs < 1:
            raise ValueError(f"expected max_graphs >= 1, got {max_graphs}")
        self.layer, self.max_graphs, self.warmup = layer, max_graphs, warmup
        self._graphs: OrderedDict[tuple, tuple[Callable, str, str]] = OrderedDict()
        self._failed: dict[tuple, str] = {}
        self.captured = False
        self.last_backend: str | None = None
        self.backend_reason: str | None = None

    @property
    def cached_signatures(self) -> list[tuple]:
        return list(self._graphs)

    def forward(self, input, hx=None, lengths=None):
        blocker = capture_blocker(self.layer, input, lengths)
        key = None if blocker else graph_key(self.layer, input, hx)
        if key is not None and key in self._failed:
            blocker = self._failed[key]
        if blocker is not None:
            return self._uncaptured(input, hx, lengths, blocker)
        if key not in self._graphs:
            try:
                self._graphs[key] = self._capture(input, hx)
            except RuntimeError as error:  # e.g. an op that synchronises with the host
                self._failed[key] = f"capture failed ({str(error).splitlines()[0]})"
                return self._uncaptured(input, hx, lengths, self._failed[key])
            while len(self._graphs) > self.max_graphs:
                self._graphs.popitem(last=False)  # least recently used
        self._graphs.move_to_end(key)
        replay, backend, reason = self._graphs[key]
        results = replay(input, *_states(hx))
        self.captured = True
        self.last_backend, self.backend_reason = backend, f"{reason}; replayed a CUDA graph"
        out, finals = results[0], results[1:]
        return out, (tuple(finals) if self.layer.mode == "LSTM" else finals[0])

    def _uncaptured(self, input, hx, lengths, why: str):
        result = self.layer(input, hx, lengths=lengths)
        self.captured = False
        self.last_backend = self.layer.last_backend
        self.backend_reason = f"{self.layer.backend_reason}; not captured: {why}"
        return result

    def _capture(self, input: Tensor, hx) -> tuple[Callable, str, str]:
        fn = _FlatCall(self.layer, self.layer.mode == "LSTM").train(self.layer.training)
        sample = tuple(t.detach().clone().requires_grad_(t.requires_grad) for t in (
            input, *_states(hx)
        ))  # fmt: skip
        if torch.is_grad_enabled():
            replay = torch.cuda.make_graphed_callables(
                fn, sample, num_warmup_iters=self.warmup, allow_unused_input=True
            )
        else:
            replay = _InferenceGraph(fn, sample, self.warmup)
        return replay, self.layer.last_backend, self.layer.backend_reason
