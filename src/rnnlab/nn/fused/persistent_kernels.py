"""The Triton kernels of ``rnnlab.nn.fused.persistent`` (imported, with triton, on first use).

Layout (program p of ``NUM_PROGRAMS``, units ``cols = p*BLOCK_H + arange(BLOCK_H)``):

    w_hh (G*H, H)  ──▶  per gate k a (BLOCK_K, BLOCK_H) tile  W_k[cols, :]^T, loaded once
    h_ex (T+1, B, H) fp32: h_ex[0] = h0, h_ex[t+1] = h_t; every program writes its columns
    of h_ex[t+1] and, after the barrier, reads all of h_ex[t+1] for the next step
"""

from __future__ import annotations

import triton
import triton.language as tl

from rnnlab.nn.fused.kernels import _tanh


@triton.jit
def _grid_barrier(barrier, t, NUM_PROGRAMS: tl.constexpr):
    """Wait until every program has finished step t (a monotone arrival counter)."""
    if NUM_PROGRAMS > 1:
        tl.debug_barrier()  # this program's stores are issued
        arrived = tl.atomic_add(barrier, 1, sem="acq_rel", scope="gpu") + 1
        target = (t + 1) * NUM_PROGRAMS
        while arrived < target:
            arrived = tl.atomic_add(barrier, 0, sem="acq_rel", scope="gpu")


@triton.jit
def _weight_tile(w_hh, k, H, cols, ks, ok):
    """W_hh[k*H + cols, ks]^T as a (BLOCK_K, BLOCK_H) tile (zero outside H)."""
    return tl.load(w_hh + (k * H + cols[None, :]) * H + ks[:, None], mask=ok, other=0.0)


@triton.jit
def _read_state(h_ex, t, B, H, rows, ks, row_ok, k_ok):
    """The full h_{t-1} (BLOCK_B, BLOCK_K), read around the caches (other programs wrote it)."""
    ptr = h_ex + t * B * H + rows[:, None] * H + ks[None, :]
    return tl.load(ptr, mask=row_ok[:, None] & k_ok[None, :], other=0.0, cache_modifier=".cg")


@triton.jit
def lstm_persistent_kernel(
    xw,
    w_hh,
    h_ex,
    mask,
    out,
    barrier,
    c0,
    c_T,
    T,
    B,
    H,
    HAS_MASK: tl.constexpr,
    NUM_PROGRAMS: tl.constexpr,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
    BLOCK_K: tl.constexpr,
    PRECISION: tl.constexpr,
):
    p = tl.program_id(0)
    rows, ks = tl.arange(0, BLOCK_B), tl.arange(0, BLOCK_K)
    cols = p * BLOCK_H + tl.arange(0, BLOCK_H)
    row_ok, col_ok, k_ok = rows < B, cols < H, ks < H
    w_ok = k_ok[:, None] & col_ok[None, :]
    w_i = _weight_tile(w_hh, 0, H, cols, ks, w_ok)
    w_f = _weight_tile(w_hh, 1, H, cols, ks, w_ok)
    w_g = _weight_tile(w_hh, 2, H, cols, ks, w_ok)
    w_o = _weight_tile(w_hh, 3, H, cols, ks, w_ok)
    tile_ok = row_ok[:, None] & col_ok[None, :]
    own = rows[:, None] * H + cols[None, :]  # this program's (B, units) in a (B, H) buffer
    x_own = rows[:, None] * 4 * H + cols[None, :]
    c = tl.load(c0 + own, mask=tile_ok, other=0.0)
    for t in range(T):
        h = _read_state(h_ex, t, B, H, rows, ks, row_ok, k_ok).to(w_i.dtype)
        x_t = xw + t * B * 4 * H + x_own
        i = tl.dot(h, w_i, input_precision=PRECISION) + tl.load(x_t, tile_ok, 0.0).to(tl.float32)
        f = tl.dot(h, w_f, input_precision=PRECISION) + tl.load(x_t + H, tile_ok, 0.0).to(
            tl.float32
        )
        g = tl.dot(h, w_g, input_precision=PRECISION) + tl.load(x_t + 2 * H, tile_ok, 0.0).to(
            tl.float32
        )
        o = tl.dot(h, w_o, input_precision=PRECISION) + tl.load(x_t + 3 * H, tile_ok, 0.0).to(
            tl.float32
        )
        c_new = tl.sigmoid(f) * c + tl.sigmoid(i) * _tanh(g)
        h_new = tl.sigmoid(o) * _tanh(c_new)
        if HAS_MASK:
            m = tl.load(mask + t * B + rows, mask=row_ok, other=0.0)[:, None]
            h_old = tl.load(h_ex + t * B * H + own, mask=tile_ok, other=0.0, cache_modifier=".cg")
            c = tl.where(m > 0.5, c_new, c)
            h_keep = tl.where(m > 0.5, h_new, h_old)
            h_new = h_new * m
        else:
            c = c_new
            h_keep = h_new
        tl.store(h_ex + (t + 1) * B * H + own, h_keep, mask=tile_ok)
        tl.store(out + t * B * H + own, h_new.to(out.dtype.element_ty), mask=tile_ok)
        _grid_barrier(barrier, t, NUM_PROGRAMS)
    tl.store(c_T + own, c, mask=tile_ok)


@triton.jit
def gru_persistent_kernel(
    xw,
    w_hh,
    h_ex,
    mask,
    out,
    barrier,
    bias,
    T,
    B,
    H,
    HAS_MASK: tl.constexpr,
    NUM_PROGRAMS: tl.constexpr,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
    BLOCK_K: tl.constexpr,
    PRECISION: tl.constexpr,
):
    p = tl.program_id(0)
    rows, ks = tl.arange(0, BLOCK_B), tl.arange(0, BLOCK_K)
    cols = p * BLOCK_H + tl.arange(0, BLOCK_H)
    row_ok, col_ok, k_ok = rows < B, cols < H, ks < H
    w_ok = k_ok[:, None] & col_ok[None, :]
    w_r = _weight_tile(w_hh, 0, H, cols, ks, w_ok)
    w_z = _weight_tile(w_hh, 1, H, cols, ks, w_ok)
    w_n = _weight_tile(w_hh, 2, H, cols, ks, w_ok)
    b_r = tl.load(bias + cols, mask=col_ok, other=0.0).to(tl.float32)[None, :]
    b_z = tl.load(bias + H + cols, mask=col_ok, other=0.0).to(tl.float32)[None, :]
    b_n = tl.load(bias + 2 * H + cols, mask=col_ok, other=0.0).to(tl.float32)[None, :]
    tile_ok = row_ok[:, None] & col_ok[None, :]
    own = rows[:, None] * H + cols[None, :]
    x_own = rows[:, None] * 3 * H + cols[None, :]
    for t in range(T):
        h = _read_state(h_ex, t, B, H, rows, ks, row_ok, k_ok)
        h_old = tl.load(h_ex + t * B * H + own, mask=tile_ok, other=0.0, cache_modifier=".cg")
        h = h.to(w_r.dtype)
        x_t = xw + t * B * 3 * H + x_own
        r = tl.dot(h, w_r, input_precision=PRECISION) + b_r
        r = tl.sigmoid(r + tl.load(x_t, tile_ok, 0.0).to(tl.float32))
        z = tl.dot(h, w_z, input_precision=PRECISION) + b_z
        z = tl.sigmoid(z + tl.load(x_t + H, tile_ok, 0.0).to(tl.float32))
        h_n = tl.dot(h, w_n, input_precision=PRECISION) + b_n
        n = _tanh(tl.load(x_t + 2 * H, tile_ok, 0.0).to(tl.float32) + r * h_n)
        h_new = (1.0 - z) * n + z * h_old
        if HAS_MASK:
            m = tl.load(mask + t * B + rows, mask=row_ok, other=0.0)[:, None]
            h_keep = tl.where(m > 0.5, h_new, h_old)
            h_new = h_new * m
        else:
            h_keep = h_new
        tl.store(h_ex + (t + 1) * B * H + own, h_keep, mask=tile_ok)
        tl.store(out + t * B * H + own, h_new.to(out.dtype.element_ty), mask=tile_ok)
        _grid_barrier(barrier, t, NUM_PROGRAMS)
