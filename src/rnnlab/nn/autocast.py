"""Mixed precision: how rnnlab's recurrent layers behave under ``torch.autocast``.

torch's autocast runs matrix products in a lower precision (bf16 on CPU, fp16 or bf16 on
CUDA) and leaves other ops in the dtype of their inputs. A recurrent layer is a chain of
matrix products and element-wise gate math, and torch's own kernels return different
dtypes per cell under autocast (on CPU, ``torch.nn.LSTM`` and ``RNN`` return bf16, while
``GRU`` returns fp32 for fp32 inputs). rnnlab's layers follow one rule on both execution
paths and for every cell:

    under autocast, the input and the initial states are cast to the autocast dtype; the
    outputs and the final states come back in it. Parameters stay fp32 (the gradient
    reaches them through the casts).

The native path then calls torch's kernel, which casts its weights itself. The scratch
path casts its weights once per forward and runs the whole scan, hand-written backward
included, in the autocast dtype with autocast switched off inside (its in-place ops and
``out=`` buffers need one dtype). Inputs and states of another floating dtype than the
parameters are accepted only while autocast is on (``rnnlab.nn._checks``).
"""

from __future__ import annotations

import torch

__all__ = ["autocast_dtype"]


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast computes matrix products in on ``device_type``, or None when
    autocast is off there (or the device type has no autocast)."""
    try:
        if not torch.is_autocast_enabled(device_type):
            return None
        return torch.get_autocast_dtype(device_type)
    except (RuntimeError, TypeError):  # a device type without autocast, or torch < 2.4
        if device_type == "cpu" and torch.is_autocast_cpu_enabled():
            return torch.get_autocast_cpu_dtype()
        if device_type == "cuda" and torch.is_autocast_enabled():
            return torch.get_autocast_gpu_dtype()
        return None
