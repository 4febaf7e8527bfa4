"""The fused GPU path of the scratch recurrence: Triton kernels for the per-step pointwise math.

A scratch step is one matrix product (``h_{t-1} W_hh^T``, cuBLAS) and five to eight
small element-wise ops (gate nonlinearities, the state update, the mask blend), each a
kernel launch on a GPU. This package replaces the element-wise ops of each step with ONE
Triton kernel in the forward pass and ONE in the backward pass (two each for Cho's GRU,
whose reset gate sits between two products):

* ``kernels``: the ``@triton.jit`` kernels and their launchers (one step each);
* ``scan``: autograd Functions running the time loop with them, the signatures of
  ``rnnlab.nn.scan`` (time-major ``xw (T, B, G*H)``, ``mask (T, B)``);
* ``graphs``: whole-layer CUDA-graph capture with a bounded cache;
* ``persistent``: a persistent LSTM / GRU inference kernel (one launch per sequence).

Triton is optional (``pip install rnnlab[gpu]``): nothing here imports it until a fused
scan runs, and ``unavailable_reason`` says why the path cannot run (then layers use the
plain scratch loop). On CPU tensors the kernels run only under Triton's interpreter
(``TRITON_INTERPRET=1`` set before triton is imported), which is how the tests check them.

Precision: the states h and c are carried and the gates computed in float32 whatever the
input dtype; bf16 / fp16 inputs give bf16 / fp16 outputs and products (as cuDNN does).
"""

from __future__ import annotations

import functools
import importlib.util
import os

import torch

__all__ = [
    "triton_installed",
    "interpreter_on",
    "unavailable_reason",
    "FUSED_DTYPES",
    "NO_TRITON",
]

FUSED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
NO_TRITON = "triton is not installed (pip install rnnlab[gpu])"


@functools.lru_cache(maxsize=1)
def triton_installed() -> bool:
    """Whether the ``triton`` package can be imported (without importing it)."""
    return importlib.util.find_spec("triton") is not None


def interpreter_on() -> bool:
    """Whether Triton's CPU interpreter is requested (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def unavailable_reason(device_type: str, dtype: torch.dtype, proj_size: int = 0) -> str | None:
    """Why the fused kernels cannot run for a layer on ``device_type`` in ``dtype``; None if
    they can."""
    if not triton_installed():
        return NO_TRITON
    if device_type != "cuda" and not (device_type == "cpu" and interpreter_on()):
        return f"the Triton kernels need a CUDA device (or TRITON_INTERPRET=1), got {device_type}"
    if dtype not in FUSED_DTYPES:
        return f"the Triton kernels take float32, bfloat16 or float16, got {dtype}"
    if proj_size:
        return "an LSTM with proj_size has no fused kernel"
    return None
