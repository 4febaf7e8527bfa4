"""Triton kernels: one recurrent step's element-wise math, forward and backward.

Every kernel handles one step for all B rows. The grid is (B, ceil(H / BLOCK)): program
(b, j) owns hidden units j*BLOCK .. j*BLOCK + BLOCK - 1 of row b, for every gate, so a
step's gates never leave registers. H need not be a multiple of BLOCK (the tail is
masked). Gate rows are laid out as torch.nn lays them (LSTM i, f, g, o; GRU r, z, n):

    xw_t / hw_t (B, G*H):  | gate 0: H units | gate 1: H units | ... |
                             ^ row b starts at b * G*H; program (b, j) reads
                               units j*BLOCK.. of each gate block

The matrix product ``h_{t-1} W_hh^T`` is not here: the caller computes it (cuBLAS) and
passes it as ``hw_t``. Loads are converted to float32; the carried states (``h``, ``c``)
and the saved activations are float32 buffers; products and outputs keep the input dtype.

Mask algebra (m = mask[t, b] in {0, 1}, as in ``rnnlab.nn.bptt``): forward
``h_t = m h~_t + (1 - m) h_{t-1}`` and ``out_t = m h~_t``; backward, with g_h the gradient
reaching the carried h_t from later steps, the new candidate receives ``a = m (g_h + dout_t)``
and ``(1 - m) g_h`` flows straight to h_{t-1} (``carry``).

Importing this module imports triton; ``rnnlab.nn.fused.scan`` imports it only when a fused
scan runs.
"""

from __future__ import annotations

import triton
import triton.language as tl

__all__ = ["block_for", "launch"]

MAX_BLOCK = 256


def block_for(H: int) -> int:
    """Units per program: the next power of two >= H, capped at MAX_BLOCK."""
    return min(triton.next_power_of_2(H), MAX_BLOCK)


def launch(kernel, B: int, H: int, *args, block: int | None = None, **meta) -> None:
    """Run ``kernel`` on the (B, ceil(H / block)) grid."""
    block = block or block_for(H)
    kernel[(B, triton.cdiv(H, block))](*args, H, BLOCK=block, **meta)


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------


@triton.jit
def _units(H, BLOCK: tl.constexpr):
    """(row b, the hidden units ``cols`` this program owns, which of them are < H)."""
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    return tl.program_id(0), cols, cols < H


@triton.jit
def _tanh(x):
    """tanh from one exp, stable for large |x|: sign(x) (1 - e) / (1 + e), e = exp(-2|x|)."""
    e = tl.exp(-2.0 * tl.abs(x))
    t = (1.0 - e) / (1.0 + e)
    return tl.where(x >= 0, t, -t)


@triton.jit
def _load(ptr, offs, ok):
    return tl.load(ptr + offs, mask=ok, other=0.0).to(tl.float32)


@triton.jit
def _store(ptr, offs, value, ok):
    tl.store(ptr + offs, value.to(ptr.dtype.element_ty), mask=ok)


@triton.jit
def _pre(xw, hw, bias, x_row, hw_row, k, H, cols, ok, HAS_BIAS: tl.constexpr):
    """Pre-activation of gate k: xw_t + hw_t (+ b_hh) at units ``cols``."""
    a = _load(xw, x_row + k * H + cols, ok) + _load(hw, hw_row + k * H + cols, ok)
    if HAS_BIAS:
        a += _load(bias, k * H + cols, ok)
    return a


@triton.jit
def _step_mask(mask, b, HAS_MASK: tl.constexpr):
    if HAS_MASK:
        return tl.load(mask + b).to(tl.float32)
    return 1.0


@triton.jit
def _finish_forward(new, h_prev, m, h_out, out, h_mm, offs, ok, WRITE_MM: tl.constexpr):
    """Blend the candidate h~ with h_{t-1} by the mask and write the carried state (fp32),
    the output (m h~, input dtype) and, for low precision, the state in the product dtype."""
    h = tl.where(m > 0.5, new, h_prev)
    _store(h_out, offs, h, ok)
    _store(out, offs, new * m, ok)
    if WRITE_MM:
        _store(h_mm, offs, h, ok)


@triton.jit
def _gradient_in(dout, rec, carry, m, offs, ok, HAS_REC: tl.constexpr):
    """(a, g_h): the gradient reaching the candidate h~_t and the carried h_t, where
    g_h = rec (d gates_{t+1} W_hh) + carry ((1 - m_{t+1}) g_h_{t+1} + direct terms)."""
    g_h = _load(carry, offs, ok)
    if HAS_REC:
        g_h += _load(rec, offs, ok)
    a = m * (g_h + _load(dout, offs, ok))
    return a, g_h


# ---------------------------------------------------------------------------
# LSTM (i, f, g, o)
# ---------------------------------------------------------------------------


@triton.jit
def lstm_forward_kernel(
    xw,
    hw,
    bias,
    h_prev,
    c_prev,
    mask,  # inputs: (B, 4H) x2, (4H,), (B, H) x2, (B,)
    h_out,
    c_out,
    out,
    h_mm,
    gates,
    tanh_c,  # outputs: (B, H) x4, (B, 4H), (B, H)
    H,
    HAS_BIAS: tl.constexpr,
    HAS_MASK: tl.constexpr,
    WRITE_MM: tl.constexpr,
    BLOCK: tl.constexpr,
):
    b, cols, ok = _units(H, BLOCK)
    row, row4 = b * H, b * 4 * H
    i = tl.sigmoid(_pre(xw, hw, bias, row4, row4, 0, H, cols, ok, HAS_BIAS))
    f = tl.sigmoid(_pre(xw, hw, bias, row4, row4, 1, H, cols, ok, HAS_BIAS))
    g = _tanh(_pre(xw, hw, bias, row4, row4, 2, H, cols, ok, HAS_BIAS))
    o = tl.sigmoid(_pre(xw, hw, bias, row4, row4, 3, H, cols, ok, HAS_BIAS))
    c_old = _load(c_prev, row + cols, ok)
    c_new = f * c_old + i * g
    tc = _tanh(c_new)
    m = _step_mask(mask, b, HAS_MASK)
    _store(c_out, row + cols, tl.where(m > 0.5, c_new, c_old), ok)
    _finish_forward(
        o * tc, _load(h_prev, row + cols, ok), m, h_out, out, h_mm, row + cols, ok, WRITE_MM
    )
    _store(gates, row4 + cols, i, ok)
    _store(gates, row4 + H + cols, f, ok)
    _store(gates, row4 + 2 * H + cols, g, ok)
    _store(gates, row4 + 3 * H + cols, o, ok)
    _store(tanh_c, row + cols, tc, ok)


@triton.jit
def lstm_backward_kernel(
    dout,
    rec,
    carry,
    dc,
    gates,
    tanh_c,
    c_prev,
    mask,  # inputs (carry, dc updated in place)
    d_gates,  # output: (B, 4H) gradient of the gate pre-activations
    H,
    HAS_REC: tl.constexpr,
    HAS_MASK: tl.constexpr,
    BLOCK: tl.constexpr,
):
    b, cols, ok = _units(H, BLOCK)
    row, row4 = b * H + cols, b * 4 * H + cols
    m = _step_mask(mask, b, HAS_MASK)
    a, g_h = _gradient_in(dout, rec, carry, m, row, ok, HAS_REC)
    i, f = _load(gates, row4, ok), _load(gates, row4 + H, ok)
    g, o = _load(gates, row4 + 2 * H, ok), _load(gates, row4 + 3 * H, ok)
    tc = _load(tanh_c, row, ok)
    g_c = _load(dc, row, ok)
    dct = m * g_c + a * o * (1.0 - tc * tc)  # gradient reaching the candidate c~_t
    _store(d_gates, row4, dct * g * i * (1.0 - i), ok)
    _store(d_gates, row4 + H, dct * _load(c_prev, row, ok) * f * (1.0 - f), ok)
    _store(d_gates, row4 + 2 * H, dct * i * (1.0 - g * g), ok)
    _store(d_gates, row4 + 3 * H, a * tc * o * (1.0 - o), ok)
    _store(dc, row, dct * f + (1.0 - m) * g_c, ok)
    _store(carry, row, (1.0 - m) * g_h, ok)


# ---------------------------------------------------------------------------
# GRU, torch variant: n = tanh(x_n + r (W_hn h + b_hn)); h~ = (1 - z) n + z h
# ---------------------------------------------------------------------------


@triton.jit
def gru_forward_kernel(
    xw,
    hw,
    bias,
    h_prev,
    mask,  # inputs: (B, 3H) x2 (hw without bias), (3H,), (B, H), (B,)
    h_out,
    out,
    h_mm,
    rzn,
    hn,  # outputs: (B, H) x3, (B, 3H) activated r z n, (B, H) W_hn h + b
    H,
    HAS_BIAS: tl.constexpr,
    HAS_MASK: tl.constexpr,
    WRITE_MM: tl.constexpr,
    BLOCK: tl.constexpr,
):
    b, cols, ok = _units(H, BLOCK)
    row, row3 = b * H + cols, b * 3 * H + cols
    r = tl.sigmoid(_pre(xw, hw, bias, b * 3 * H, b * 3 * H, 0, H, cols, ok, HAS_BIAS))
    z = tl.sigmoid(_pre(xw, hw, bias, b * 3 * H, b * 3 * H, 1, H, cols, ok, HAS_BIAS))
    h_n = _load(hw, row3 + 2 * H, ok)
    if HAS_BIAS:
        h_n += _load(bias, 2 * H + cols, ok)
    n = _tanh(_load(xw, row3 + 2 * H, ok) + r * h_n)
    h_old = _load(h_prev, row, ok)
    m = _step_mask(mask, b, HAS_MASK)
    _finish_forward((1.0 - z) * n + z * h_old, h_old, m, h_out, out, h_mm, row, ok, WRITE_MM)
    _store(rzn, row3, r, ok)
    _store(rzn, row3 + H, z, ok)
    _store(rzn, row3 + 2 * H, n, ok)
    _store(hn, row, h_n, ok)


@triton.jit
def gru_backward_kernel(
    dout,
    rec,
    carry,
    rzn,
    hn,
    h_prev,
    mask,  # inputs (carry updated in place)
    d_xw,
    d_hw,  # outputs: (B, 3H) gradients of xw_t and of hw_t + b_hh
    H,
    HAS_REC: tl.constexpr,
    HAS_MASK: tl.constexpr,
    BLOCK: tl.constexpr,
):
    b, cols, ok = _units(H, BLOCK)
    row, row3 = b * H + cols, b * 3 * H + cols
    m = _step_mask(mask, b, HAS_MASK)
    a, g_h = _gradient_in(dout, rec, carry, m, row, ok, HAS_REC)
    r, z, n = _load(rzn, row3, ok), _load(rzn, row3 + H, ok), _load(rzn, row3 + 2 * H, ok)
    dn = a * (1.0 - z) * (1.0 - n * n)
    dz = a * (_load(h_prev, row, ok) - n) * z * (1.0 - z)
    dr = dn * _load(hn, row, ok) * r * (1.0 - r)
    _store(d_xw, row3, dr, ok)
    _store(d_xw, row3 + H, dz, ok)
    _store(d_hw, row3, dr, ok)
    _store(d_hw, row3 + H, dz, ok)
    _store(d_xw, row3 + 2 * H, dn, ok)
    _store(d_hw, row3 + 2 * H, dn * r, ok)
    _store(carry, row, a * z + (1.0 - m) * g_h, ok)


# ---------------------------------------------------------------------------
# GRU, original (Cho et al. 2014): n = tanh(x_n + (r h) W_hn^T + b_hn). The reset gate
# sits between two products, so a step is two kernels: A (r, z, r h) then B (n, h).
# ---------------------------------------------------------------------------


@triton.jit
def gru_original_forward_a_kernel(
    xw,
    hw_rz,
    bias,
    h_prev,  # inputs: (B, 3H), (B, 2H) h W_rz^T, (3H,), (B, H)
    rz,
    rh,  # outputs: (B, 2H) activated r z (fp32), (B, H) r h (product dtype)
    H,
    HAS_BIAS: tl.constexpr,
    BLOCK: tl.constexpr,
):
    b, cols, ok = _units(H, BLOCK)
    r = tl.sigmoid(_pre(xw, hw_rz, bias, b * 3 * H, b * 2 * H, 0, H, cols, ok, HAS_BIAS))
    z = tl.sigmoid(_pre(xw, hw_rz, bias, b * 3 * H, b * 2 * H, 1, H, cols, ok, HAS_BIAS))
    _store(rz, b * 2 * H + cols, r, ok)
    _store(rz, b * 2 * H + H + cols, z, ok)
    _store(rh, b * H + cols, r * _load(h_prev, b * H + cols, ok), ok)


@triton.jit
def gru_original_forward_b_kernel(
    xw,
    hw_n,
    bias,
    h_prev,
    rz,
    mask,  # inputs: (B, 3H), (B, H) (r h) W_n^T, (3H,), ...
    h_out,
    out,
    h_mm,
    n_out,  # outputs: (B, H) x4
    H,
    HAS_BIAS: tl.constexpr,
    HAS_MASK: tl.constexpr,
    WRITE_MM: tl.constexpr,
    BLOCK: tl.constexpr,
):
    b, cols, ok = _units(H, BLOCK)
    row = b * H + cols
    n_pre = _load(xw, b * 3 * H + 2 * H + cols, ok) + _load(hw_n, row, ok)
    if HAS_BIAS:
        n_pre += _load(bias, 2 * H + cols, ok)
    n = _tanh(n_pre)
    z = _load(rz, b * 2 * H + H + cols, ok)
    h_old = _load(h_prev, row, ok)
    m = _step_mask(mask, b, HAS_MASK)
    _finish_forward((1.0 - z) * n + z * h_old, h_old, m, h_out, out, h_mm, row, ok, WRITE_MM)
    _store(n_out, row, n, ok)


@triton.jit
def gru_original_backward_b_kernel(
    dout,
    rec,
    carry,
    rz,
    n_all,
    h_prev,
    mask,  # inputs (carry updated in place)
    d_xw,  # output: writes the z block and the n block of d xw_t (B, 3H)
    H,
    HAS_REC: tl.constexpr,
    HAS_MASK: tl.constexpr,
    BLOCK: tl.constexpr,
):
    b, cols, ok = _units(H, BLOCK)
    row, row3 = b * H + cols, b * 3 * H + cols
    m = _step_mask(mask, b, HAS_MASK)
    a, g_h = _gradient_in(dout, rec, carry, m, row, ok, HAS_REC)
    z, n = _load(rz, b * 2 * H + H + cols, ok), _load(n_all, row, ok)
    _store(d_xw, row3 + H, a * (_load(h_prev, row, ok) - n) * z * (1.0 - z), ok)
    _store(d_xw, row3 + 2 * H, a * (1.0 - z) * (1.0 - n * n), ok)
    _store(carry, row, a * z + (1.0 - m) * g_h, ok)


@triton.jit
def gru_original_backward_a_kernel(
    d_rh,
    rz,
    h_prev,  # inputs: (B, H) d n_pre W_n (gradient of r h), (B, 2H), (B, H)
    carry,
    d_xw,  # carry += d_rh r (in place); writes the r block of d xw_t (B, 3H)
    H,
    BLOCK: tl.constexpr,
):
    b, cols, ok = _units(H, BLOCK)
    row = b * H + cols
    g = _load(d_rh, row, ok)
    r = _load(rz, b * 2 * H + cols, ok)
    _store(d_xw, b * 3 * H + cols, g * _load(h_prev, row, ok) * r * (1.0 - r), ok)
    _store(carry, row, _load(carry, row, ok) + g * r, ok)


# ---------------------------------------------------------------------------
# Elman RNN: h~ = act(xw_t + h W_hh^T + b_hh), act tanh (ACT 0) or relu (ACT 1)
# ---------------------------------------------------------------------------


@triton.jit
def rnn_forward_kernel(
    xw,
    hw,
    bias,
    h_prev,
    mask,  # inputs: (B, H) x2, (H,), (B, H), (B,)
    h_out,
    out,
    h_mm,
    new,  # outputs: (B, H) x4 (new: the candidate h~, fp32)
    H,
    ACT: tl.constexpr,
    HAS_BIAS: tl.constexpr,
    HAS_MASK: tl.constexpr,
    WRITE_MM: tl.constexpr,
    BLOCK: tl.constexpr,
):
    b, cols, ok = _units(H, BLOCK)
    row = b * H + cols
    a = _pre(xw, hw, bias, b * H, b * H, 0, H, cols, ok, HAS_BIAS)
    if ACT == 0:
        h_new = _tanh(a)
    else:
        h_new = tl.maximum(a, 0.0)
    m = _step_mask(mask, b, HAS_MASK)
    _finish_forward(h_new, _load(h_prev, row, ok), m, h_out, out, h_mm, row, ok, WRITE_MM)
    _store(new, row, h_new, ok)


@triton.jit
def rnn_backward_kernel(
    dout,
    rec,
    carry,
    new,
    mask,  # inputs (carry updated in place)
    d_pre,  # output: (B, H) gradient of the pre-activation
    H,
    ACT: tl.constexpr,
    HAS_REC: tl.constexpr,
    HAS_MASK: tl.constexpr,
    BLOCK: tl.constexpr,
):
    b, cols, ok = _units(H, BLOCK)
    row = b * H + cols
    m = _step_mask(mask, b, HAS_MASK)
    a, g_h = _gradient_in(dout, rec, carry, m, row, ok, HAS_REC)
    h_new = _load(new, row, ok)
    if ACT == 0:
        slope = 1.0 - h_new * h_new
    else:
        slope = tl.where(h_new > 0, 1.0, 0.0)
    _store(d_pre, row, a * slope, ok)
    _store(carry, row, (1.0 - m) * g_h, ok)
