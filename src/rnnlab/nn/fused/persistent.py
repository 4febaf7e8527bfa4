"""A persistent LSTM / GRU inference kernel: one launch runs the whole sequence.

At small batch the per-step product ``h_{t-1} W_hh^T`` is latency-bound: a step-by-step
loop reloads W_hh from memory at every step and pays a launch per kernel. A persistent
kernel (Diamos et al. 2016, "Persistent RNNs"; Zhu et al. 2018, GRNN) launches once:

    program p (one per SM) owns hidden units U_p = p*BH .. p*BH + BH - 1
    load its slice of W_hh, (G*BH) x H, ONCE; it stays in registers for all T steps
    for t in 0 .. T-1:
        read the full h_{t-1} (B, H) from global memory (written by every program)
        gates for its units: h_{t-1} @ W_slice^T + xw_t   (tl.dot, fp32 accumulate)
        c and h for its units; write h_t[:, U_p]
        grid-wide barrier (an atomic counter): h_t is complete before step t + 1

The barrier needs every program resident at once, so the grid is at most one program per
SM (``plan``). Triton's interpreter runs programs one after another, so on CPU only the
one-program form (no barrier) can run; that is what the tests check. The multi-program
form and the speed are untested until a GPU session runs ``rnnlab bench --device cuda``.

Inference only (no saved activations): a training version would also have to keep the
gates for the backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Plan", "plan", "lstm_persistent_forward", "gru_persistent_forward", "run_persistent"]

MAX_BATCH = 64
# Bytes of W_hh slice one program may hold in registers: half of a Hopper / Ampere SM's
# 256 KiB register file, spread over 8 warps (128 registers a thread). A first guess, to be
# tuned on a GPU: past it the compiler spills the weights to local memory.
ON_CHIP_BUDGET = 128 * 1024
NUM_WARPS = 8


@dataclass(frozen=True)
class Plan:
    """How the sequence is split: ``programs`` programs of ``block_h`` hidden units each,
    batch padded to ``block_b`` rows and the reduction over H to ``block_k``."""

    programs: int
    block_h: int
    block_b: int
    block_k: int


def _pow2(n: int, at_least: int = 16) -> int:
    return max(at_least, 1 << (n - 1).bit_length())


def plan(B: int, H: int, gates: int, dtype: torch.dtype, sm_count: int | None) -> Plan | str:
    """The launch plan for batch B, hidden H and G = ``gates``; or why there is none.

    ``sm_count`` None means Triton's CPU interpreter: one program, no barrier.
    """
    if B > MAX_BATCH:
        return f"batch {B} > {MAX_BATCH}: the persistent kernel is for small batches"
    block_b, block_k = _pow2(B), _pow2(H)
    if sm_count is None:
        return Plan(programs=1, block_h=_pow2(H), block_b=block_b, block_k=block_k)
    itemsize = torch.empty((), dtype=dtype).element_size()
    block_h = 16
    while -(-H // block_h) > sm_count:
        block_h *= 2
    held = gates * block_h * block_k * itemsize
    if held > ON_CHIP_BUDGET:
        return (
            f"W_hh slice of {held // 1024} KiB per program ({gates} gates x {block_h} units x "
            f"{block_k} inputs, {dtype}) exceeds the on-chip budget of "
            f"{ON_CHIP_BUDGET // 1024} KiB"
        )
    return Plan(programs=-(-H // block_h), block_h=block_h, block_b=block_b, block_k=block_k)


def _sm_count(device: torch.device) -> int | None:
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).multi_processor_count
    return None


def _kernels():
    from rnnlab.nn.fused import persistent_kernels

    return persistent_kernels


def _launch(kernel, xw, h0, w_hh, mask, plan_: Plan, extra, precision):
    """Shared launch: returns (out (T, B, H), h_ex (T + 1, B, H) fp32 with h_ex[0] = h0)."""
    T, B, _ = xw.shape
    H = h0.shape[1]
    h_ex = xw.new_empty(T + 1, B, H, dtype=torch.float32)
    h_ex[0] = h0
    out = xw.new_empty(T, B, H)
    barrier = torch.zeros(1, dtype=torch.int32, device=xw.device)
    mask_f = mask.to(torch.float32).contiguous() if mask is not None else h_ex
    kernel[(plan_.programs,)](
        xw.contiguous(), w_hh.contiguous(), h_ex, mask_f, out, barrier, *extra, T, B, H,
        HAS_MASK=mask is not None, NUM_PROGRAMS=plan_.programs, BLOCK_B=plan_.block_b,
        BLOCK_H=plan_.block_h, BLOCK_K=plan_.block_k, PRECISION=precision, num_warps=NUM_WARPS,
    )  # fmt: skip
    return out, h_ex


def _plan_or_raise(xw: Tensor, H: int, gates: int) -> Plan:
    result = plan(xw.shape[1], H, gates, xw.dtype, _sm_count(xw.device))
    if isinstance(result, str):
        raise ValueError(f"no persistent kernel for this shape: {result}")
    return result


@torch.no_grad()
def lstm_persistent_forward(xw, h0, c0, w_hh, b_hh=None, mask=None, *, precision="ieee"):
    """LSTM inference over the whole sequence in one launch.

    Args:
        xw: (T, B, 4H) input projections x_t W_ih^T + b_ih.  h0, c0: (B, H).
        w_hh: (4H, H).  b_hh: (4H,) or None.  mask: (T, B) bool or None.
        precision: tl.dot's input precision for float32, "ieee" (exact) or "tf32".
    Returns:
        (out (T, B, H), h_T (B, H), c_T (B, H)), as ``rnnlab.nn.scan.lstm_scan``.
    """
    H = h0.shape[1]
    plan_ = _plan_or_raise(xw, H, 4)
    xw = xw if b_hh is None else xw + b_hh  # (T, B, 4H): b_hh folds into the input side
    c_T = torch.empty_like(c0, dtype=torch.float32)
    c0_f = c0.to(torch.float32).contiguous()
    kernel = _kernels().lstm_persistent_kernel
    out, h_ex = _launch(kernel, xw, h0, w_hh, mask, plan_, (c0_f, c_T), precision)
    return out, h_ex[-1].to(h0.dtype), c_T.to(c0.dtype)


@torch.no_grad()
def gru_persistent_forward(xw, h0, w_hh, b_hh=None, mask=None, *, precision="ieee"):
    """GRU (torch variant) inference in one launch. xw (T, B, 3H), h0 (B, H), w_hh (3H, H),
    b_hh (3H,) or None, mask (T, B). Returns (out (T, B, H), h_T (B, H))."""
    H = h0.shape[1]
    plan_ = _plan_or_raise(xw, H, 3)
    bias = b_hh if b_hh is not None else xw.new_zeros(3 * H)
    out, h_ex = _launch(
        _kernels().gru_persistent_kernel, xw, h0, w_hh, mask, plan_, (bias.contiguous(),),
        precision,
    )  # fmt: skip
    return out, h_ex[-1].to(h0.dtype)


class _PersistentScans:
    """A layer seen by ``paths.run_scratch`` with its scan replaced by the persistent one."""

    def __init__(self, layer) -> None:
        self._layer = layer

    def __getattr__(self, name):
        return getattr(self._layer, name)

    def _scan(self, xw, state, w_hh, b_hh, w_hr, mask):
        if self._layer.mode == "LSTM":
            return lstm_persistent_forward(xw, state[0], state[1], w_hh, b_hh, mask)
        if getattr(self._layer, "variant", "torch") != "torch":
            raise ValueError("the persistent GRU kernel computes only variant='torch'")
        return gru_persistent_forward(xw, state[0], w_hh, b_hh, mask)


@torch.no_grad()
def run_persistent(layer, x: Tensor, hx=None):
    """Inference of an rnnlab ``LSTM`` / ``GRU`` layer with the persistent kernel.

    x (T, B, E) time-major; hx as the layer takes it. Returns what the layer returns.
    """
    from rnnlab.nn.paths import run_scratch

    if layer.mode not in ("LSTM", "GRU") or layer.proj_size:
        raise ValueError(f"the persistent kernel runs LSTM (no proj_size) and GRU, got {layer}")
    if layer.training:
        raise ValueError("the persistent kernel is for inference: call layer.eval() first")
    states = layer._check_states(hx, x.shape[1], False, layer.weight_ih_l0)
    out, finals = run_scratch(_PersistentScans(layer), x, states, None, layer._forward_weights())
    return out, (tuple(finals) if layer.mode == "LSTM" else finals[0])
