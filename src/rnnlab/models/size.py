"""How big a model is before it exists: parameter counts, memory estimates, and a refusal
of models that could not be allocated on this machine.

``torch.empty`` of a 160 GB matrix fails deep inside the allocator (or, worse, succeeds
lazily and the machine starts swapping). A model's constructor calls
``check_fits_in_memory`` with the parameter count computed from its config first, so an
impossible size (``rnnlab train lm --hidden 100000``) is refused at once with the count,
the memory it would need and the memory there is:

    lm_parameter_count(cfg)  ->  n parameters  ->  n * 4 bytes (float32)
                                                   > fraction * physical memory?  -> refuse

The bound is deliberately generous (half of the physical memory for the parameters
alone): training needs about four times that (gradients, Adam's two moments), so anything
it lets through may still be too big to train, but nothing it refuses could be built.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = [
    "ModelTooLargeError",
    "check_fits_in_memory",
    "lm_parameter_count",
    "physical_memory_bytes",
    "recurrent_parameter_count",
]

_GATES = {"rnn": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


class ModelTooLargeError(ValueError):
    """A model's parameters would not fit in this machine's memory; nothing was allocated."""


def recurrent_parameter_count(
    cell: str, input_size: int, hidden_size: int, num_layers: int = 1, proj_size: int = 0
) -> int:
    """Parameters of ``rnnlab.nn.recurrent_layer(cell, ...)`` (unidirectional, with biases).

    Per layer: W_ih (G*H, D_in), W_hh (G*H, P), b_ih and b_hh (G*H,), and for an LSTM
    projection W_hr (P, H); D_in is ``input_size`` for the first layer and P above it.
    """
    G, H, P = _GATES[cell], hidden_size, proj_size or hidden_size
    total = 0
    for layer in range(num_layers):
        d_in = input_size if layer == 0 else P
        total += G * H * (d_in + P + 2) + (P * H if proj_size else 0)
    return total


def lm_parameter_count(config) -> int:
    """Parameters of ``LanguageModel(config)``: embedding V*E, the recurrent stack (layer k
    of size H_k reads E or the output of layer k - 1), and the decoder P*V + V (its weight
    is the embedding's when ``tie_weights``)."""
    V, E, P = config.vocab_size, config.embed_dim, config.output_size
    recurrent, d_in = 0, E
    for H in config.hidden_sizes:
        recurrent += recurrent_parameter_count(config.cell, d_in, H, 1, config.proj_size)
        d_in = config.proj_size or H
    decoder = V if config.tie_weights else P * V + V
    return V * E + recurrent + decoder


def physical_memory_bytes() -> int | None:
    """This machine's memory in bytes (the container's limit if lower), None if unknown.

    POSIX ``sysconf`` (Linux, macOS), ``GlobalMemoryStatusEx`` on Windows; on Linux a
    cgroup memory limit below the physical memory is what the process can really use.
    """
    total = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        if sys.platform == "win32":
            total = _windows_memory_bytes()
    for name in _CGROUP_LIMITS:
        try:
            limit = int(Path(name).read_text().strip())
        except (OSError, ValueError):  # absent, unreadable, or "max" (no limit)
            continue
        if total is None or 0 < limit < total:
            total = limit
    return total if total and total > 0 else None


def _windows_memory_bytes() -> int | None:  # pragma: no cover - Windows only
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong)] + [
            (name, ctypes.c_ulonglong)
            for name in (
                "ullTotalPhys",
                "ullAvailPhys",
                "ullTotalPageFile",
                "ullAvailPageFile",
                "ullTotalVirtual",
                "ullAvailVirtual",
                "ullAvailExtendedVirtual",
            )
        ]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return None
    return int(status.ullTotalPhys)


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB"


def check_fits_in_memory(
    parameters: int,
    *,
    what: str = "the model",
    bytes_per_parameter: int = 4,
    fraction: float = 0.5,
    memory_bytes: int | None = None,
) -> None:
    """Refuse to allocate ``parameters`` numbers if they need more than ``fraction`` of the
    machine's memory (``memory_bytes``, default ``physical_memory_bytes()``; no check when
    that is unknown).

    Raises:
        ModelTooLargeError: names the parameter count, the bytes they need and the bound.
    """
    memory = physical_memory_bytes() if memory_bytes is None else memory_bytes
    needed = parameters * bytes_per_parameter
    if memory is None or needed <= fraction * memory:
        return
    raise ModelTooLargeError(
        f"{what} would have {parameters:,} parameters, {_gb(needed)} at "
        f"{bytes_per_parameter} bytes each (training needs about 4x that), more than "
        f"{fraction:.0%} of this machine's {_gb(memory)} of memory: nothing was allocated; "
        "choose smaller sizes (hidden_size, embed_dim, num_layers, vocabulary)"
    )
