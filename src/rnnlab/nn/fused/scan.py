"""Scans over time with the fused Triton step kernels (``rnnlab.nn.fused.kernels``).

Same signatures and results as ``rnnlab.nn.scan`` (time-major ``xw (T, B, G*H)``, the
hoisted input projection; ``mask (T, B)`` bool or None; outputs zero at masked steps, the
state carried through them). One step is:

    forward:   hw = h_{t-1} @ W_hh^T  (cuBLAS)  ->  one kernel: gates, c_t, h_t, mask blend
    backward:  one kernel: gate gradients, carries  ->  rec = d gates_t @ W_hh  (cuBLAS)

(Cho's GRU: two products and two kernels each way.) The weight gradient is one product
over all T*B rows at the end, as in ``rnnlab.nn.bptt``. h and c are carried in float32
buffers (T, B, H); with bf16 / fp16 inputs the products read a copy of h in that dtype.

The backward is not differentiable again (no double backward): use the reference scans.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnlab.nn.bptt import _previous, _weight_grad
from rnnlab.nn.fused import kernels as K

__all__ = ["lstm_scan_fused", "gru_scan_fused", "rnn_scan_fused"]

_F32 = torch.float32


def _mask_f32(mask: Tensor | None) -> Tensor | None:
    """(T, B) float32 0/1 or None."""
    return None if mask is None else mask.to(_F32).contiguous()


def _or(t: Tensor | None, dummy: Tensor) -> Tensor:
    """A pointer for a kernel argument its constexpr flags leave unread."""
    return dummy if t is None else t


class _States:
    """The float32 carried states and, for bf16 / fp16, their copies in the product dtype.

    ``h_all[t]`` is h_t (fp32, (B, H)); ``h_mm[t]`` the same in the product dtype (the same
    tensor in float32); ``h0`` / ``h0_mm`` likewise for the initial state.
    """

    def __init__(self, h0: Tensor, T: int, dtype: torch.dtype) -> None:
        B, H = h0.shape
        self.low = dtype != _F32
        self.h_all = h0.new_empty(T, B, H, dtype=_F32)
        self.h_mm = h0.new_empty(T, B, H, dtype=dtype) if self.low else self.h_all
        self.h0 = h0.to(_F32).contiguous()
        self.h0_mm = h0.to(dtype).contiguous()

    def read(self, t: int) -> tuple[Tensor, Tensor]:
        """(h_{t-1} fp32, h_{t-1} in the product dtype) for step t."""
        return (self.h0, self.h0_mm) if t == 0 else (self.h_all[t - 1], self.h_mm[t - 1])

    def previous_mm(self) -> Tensor:
        return _previous(self.h0_mm, self.h_mm)  # (T, B, H)


# ---------------------------------------------------------------------------
# LSTM
# ---------------------------------------------------------------------------


def _lstm_forward(xw, h0, c0, w_hh, b_hh, mask, block):
    T, B, G = xw.shape
    H = G // 4
    s = _States(h0, T, xw.dtype)
    c_all = xw.new_empty(T, B, H, dtype=_F32)
    gates = xw.new_empty(T, B, G, dtype=_F32)
    tanh_c = xw.new_empty(T, B, H, dtype=_F32)
    out = xw.new_empty(T, B, H)
    hw = xw.new_empty(B, G)
    w_t = w_hh.t()  # (H, 4H)
    c = c0.to(_F32).contiguous()
    flags = dict(HAS_BIAS=b_hh is not None, HAS_MASK=mask is not None, WRITE_MM=s.low)
    for t in range(T):
        h, h_mm = s.read(t)
        torch.mm(h_mm, w_t, out=hw)
        K.launch(
            K.lstm_forward_kernel, B, H,
            xw[t], hw, _or(b_hh, hw), h, c, mask[t] if mask is not None else hw,
            s.h_all[t], c_all[t], out[t], s.h_mm[t], gates[t], tanh_c[t],
            block=block, **flags,
        )  # fmt: skip
        c = c_all[t]
    return out, s, c_all, gates, tanh_c


class _FusedLSTM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, b_hh, mask, block):
        out, s, c_all, gates, tanh_c = _lstm_forward(xw, h0, c0, w_hh, b_hh, mask, block)
        ctx.block, ctx.dtype, ctx.has_bias = block, h0.dtype, b_hh is not None
        c0_f = c0.to(_F32)
        ctx.save_for_backward(w_hh, mask, gates, tanh_c, c0_f, c_all, s.previous_mm())
        return out, s.h_all[-1].to(h0.dtype), c_all[-1].to(c0.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT, d_cT):
        w_hh, mask, gates, tanh_c, c0, c_all, h_prev = ctx.saved_tensors
        T, B, G = gates.shape
        H = G // 4
        d_out = d_out.contiguous()
        carry, dc = d_hT.to(_F32).clone(), d_cT.to(_F32).clone()
        d_gates = d_out.new_empty(T, B, G)
        rec = d_out.new_empty(B, H)
        for t in range(T - 1, -1, -1):
            K.launch(
                K.lstm_backward_kernel, B, H,
                d_out[t], rec, carry, dc, gates[t], tanh_c[t], c_all[t - 1] if t else c0,
                mask[t] if mask is not None else rec, d_gates[t],
                block=ctx.block, HAS_REC=t < T - 1, HAS_MASK=mask is not None,
            )  # fmt: skip
            torch.mm(d_gates[t], w_hh, out=rec)
        dh0 = (rec.to(_F32) + carry).to(ctx.dtype)
        d_w = _weight_grad(d_gates, h_prev) if ctx.needs_input_grad[3] else None
        d_b = d_gates.sum(dim=(0, 1)) if ctx.has_bias else None
        return d_gates, dh0, dc.to(ctx.dtype), d_w, d_b, None, None


# ---------------------------------------------------------------------------
# GRU, torch variant
# ---------------------------------------------------------------------------


def _gru_forward(xw, h0, w_hh, b_hh, mask, block):
    T, B, G = xw.shape
    H = G // 3
    s = _States(h0, T, xw.dtype)
    rzn = xw.new_empty(T, B, G, dtype=_F32)
    hn = xw.new_empty(T, B, H, dtype=_F32)
    out = xw.new_empty(T, B, H)
    hw = xw.new_empty(B, G)
    w_t = w_hh.t()  # (H, 3H)
    flags = dict(HAS_BIAS=b_hh is not None, HAS_MASK=mask is not None, WRITE_MM=s.low)
    for t in range(T):
        h, h_mm = s.read(t)
        torch.mm(h_mm, w_t, out=hw)
        K.launch(
            K.gru_forward_kernel, B, H,
            xw[t], hw, _or(b_hh, hw), h, mask[t] if mask is not None else hw,
            s.h_all[t], out[t], s.h_mm[t], rzn[t], hn[t],
            block=block, **flags,
        )  # fmt: skip
    return out, s, rzn, hn


class _FusedGRU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, w_hh, b_hh, mask, block):
        out, s, rzn, hn = _gru_forward(xw, h0, w_hh, b_hh, mask, block)
        ctx.block, ctx.dtype, ctx.has_bias = block, h0.dtype, b_hh is not None
        ctx.save_for_backward(w_hh, mask, rzn, hn, _previous(s.h0, s.h_all), s.previous_mm())
        return out, s.h_all[-1].to(h0.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT):
        w_hh, mask, rzn, hn, h_prev, h_prev_mm = ctx.saved_tensors
        T, B, G = rzn.shape
        H = G // 3
        d_out = d_out.contiguous()
        carry = d_hT.to(_F32).clone()
        d_xw, d_hw = d_out.new_empty(T, B, G), d_out.new_empty(T, B, G)
        rec = d_out.new_empty(B, H)
        for t in range(T - 1, -1, -1):
            K.launch(
                K.gru_backward_kernel, B, H,
                d_out[t], rec, carry, rzn[t], hn[t], h_prev[t],
                mask[t] if mask is not None else rec, d_xw[t], d_hw[t],
                block=ctx.block, HAS_REC=t < T - 1, HAS_MASK=mask is not None,
            )  # fmt: skip
            torch.mm(d_hw[t], w_hh, out=rec)
        dh0 = (rec.to(_F32) + carry).to(ctx.dtype)
        d_w = _weight_grad(d_hw, h_prev_mm) if ctx.needs_input_grad[2] else None
        d_b = d_hw.sum(dim=(0, 1)) if ctx.has_bias else None
        return d_xw, dh0, d_w, d_b, None, None


# ---------------------------------------------------------------------------
# GRU, original variant (Cho et al. 2014)
# ---------------------------------------------------------------------------


def _gru_original_forward(xw, h0, w_hh, b_hh, mask, block):
    T, B, G = xw.shape
    H = G // 3
    s = _States(h0, T, xw.dtype)
    rz = xw.new_empty(T, B, 2 * H, dtype=_F32)
    n_all = xw.new_empty(T, B, H, dtype=_F32)
    rh = xw.new_empty(T, B, H)  # r * h_{t-1}, in the product dtype
    out = xw.new_empty(T, B, H)
    hw_rz, hw_n = xw.new_empty(B, 2 * H), xw.new_empty(B, H)
    w_rz_t, w_n_t = w_hh[: 2 * H].t(), w_hh[2 * H :].t()  # (H, 2H), (H, H)
    bias = _or(b_hh, hw_n)
    has_bias, has_mask = b_hh is not None, mask is not None
    for t in range(T):
        h, h_mm = s.read(t)
        torch.mm(h_mm, w_rz_t, out=hw_rz)
        K.launch(
            K.gru_original_forward_a_kernel, B, H, xw[t], hw_rz, bias, h, rz[t], rh[t],
            block=block, HAS_BIAS=has_bias,
        )  # fmt: skip
        torch.mm(rh[t], w_n_t, out=hw_n)
        K.launch(
            K.gru_original_forward_b_kernel, B, H,
            xw[t], hw_n, bias, h, rz[t], mask[t] if has_mask else hw_n,
            s.h_all[t], out[t], s.h_mm[t], n_all[t],
            block=block, HAS_BIAS=has_bias, HAS_MASK=has_mask, WRITE_MM=s.low,
        )  # fmt: skip
    return out, s, rz, n_all, rh


class _FusedGRUOriginal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, w_hh, b_hh, mask, block):
        out, s, rz, n_all, rh = _gru_original_forward(xw, h0, w_hh, b_hh, mask, block)
        ctx.block, ctx.dtype, ctx.has_bias = block, h0.dtype, b_hh is not None
        h_prev = _previous(s.h0, s.h_all)
        ctx.save_for_backward(w_hh, mask, rz, n_all, rh, h_prev, s.previous_mm())
        return out, s.h_all[-1].to(h0.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT):
        w_hh, mask, rz, n_all, rh, h_prev, h_prev_mm = ctx.saved_tensors
        T, B, H = n_all.shape
        w_rz, w_n = w_hh[: 2 * H], w_hh[2 * H :]
        d_out = d_out.contiguous()
        carry = d_hT.to(_F32).clone()
        d_xw = d_out.new_empty(T, B, 3 * H)  # [d r_pre, d z_pre, d n_pre]
        rec, d_rh = d_out.new_empty(B, H), d_out.new_empty(B, H)
        for t in range(T - 1, -1, -1):
            K.launch(
                K.gru_original_backward_b_kernel, B, H,
                d_out[t], rec, carry, rz[t], n_all[t], h_prev[t],
                mask[t] if mask is not None else rec, d_xw[t],
                block=ctx.block, HAS_REC=t < T - 1, HAS_MASK=mask is not None,
            )  # fmt: skip
            torch.mm(d_xw[t, :, 2 * H :], w_n, out=d_rh)  # gradient of r h_{t-1}
            K.launch(
                K.gru_original_backward_a_kernel, B, H, d_rh, rz[t], h_prev[t], carry, d_xw[t],
                block=ctx.block,
            )  # fmt: skip
            torch.mm(d_xw[t, :, : 2 * H], w_rz, out=rec)
        dh0 = (rec.to(_F32) + carry).to(ctx.dtype)
        d_w = None
        if ctx.needs_input_grad[2]:
            d_rz, d_n = d_xw[..., : 2 * H], d_xw[..., 2 * H :]
            d_w = torch.cat([_weight_grad(d_rz, h_prev_mm), _weight_grad(d_n, rh)])
        d_b = d_xw.sum(dim=(0, 1)) if ctx.has_bias else None
        return d_xw, dh0, d_w, d_b, None, None


# ---------------------------------------------------------------------------
# Elman RNN
# ---------------------------------------------------------------------------

_ACT = {"tanh": 0, "relu": 1}


def _rnn_forward(xw, h0, w_hh, b_hh, nonlinearity, mask, block):
    T, B, H = xw.shape
    s = _States(h0, T, xw.dtype)
    new = xw.new_empty(T, B, H, dtype=_F32)
    out = xw.new_empty(T, B, H)
    hw = xw.new_empty(B, H)
    w_t = w_hh.t()
    flags = dict(
        ACT=_ACT[nonlinearity], HAS_BIAS=b_hh is not None, HAS_MASK=mask is not None,
        WRITE_MM=s.low,
    )  # fmt: skip
    for t in range(T):
        h, h_mm = s.read(t)
        torch.mm(h_mm, w_t, out=hw)
        K.launch(
            K.rnn_forward_kernel, B, H,
            xw[t], hw, _or(b_hh, hw), h, mask[t] if mask is not None else hw,
            s.h_all[t], out[t], s.h_mm[t], new[t],
            block=block, **flags,
        )  # fmt: skip
    return out, s, new


class _FusedRNN(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, w_hh, b_hh, nonlinearity, mask, block):
        out, s, new = _rnn_forward(xw, h0, w_hh, b_hh, nonlinearity, mask, block)
        ctx.block, ctx.dtype, ctx.has_bias = block, h0.dtype, b_hh is not None
        ctx.act = _ACT[nonlinearity]
        ctx.save_for_backward(w_hh, mask, new, s.previous_mm())
        return out, s.h_all[-1].to(h0.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT):
        w_hh, mask, new, h_prev_mm = ctx.saved_tensors
        T, B, H = new.shape
        d_out = d_out.contiguous()
        carry = d_hT.to(_F32).clone()
        d_pre = d_out.new_empty(T, B, H)
        rec = d_out.new_empty(B, H)
        for t in range(T - 1, -1, -1):
            K.launch(
                K.rnn_backward_kernel, B, H,
                d_out[t], rec, carry, new[t], mask[t] if mask is not None else rec, d_pre[t],
                block=ctx.block, ACT=ctx.act, HAS_REC=t < T - 1, HAS_MASK=mask is not None,
            )  # fmt: skip
            torch.mm(d_pre[t], w_hh, out=rec)
        dh0 = (rec.to(_F32) + carry).to(ctx.dtype)
        d_w = _weight_grad(d_pre, h_prev_mm) if ctx.needs_input_grad[2] else None
        d_b = d_pre.sum(dim=(0, 1)) if ctx.has_bias else None
        return d_pre, dh0, d_w, d_b, None, None, None


# ---------------------------------------------------------------------------
# Public entry points (signatures of rnnlab.nn.scan, plus the kernels' block size)
# ---------------------------------------------------------------------------


def _prepare(xw: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
    return xw.contiguous(), _mask_f32(mask)


def lstm_scan_fused(xw, h0, c0, w_hh, b_hh=None, mask=None, *, block=None):
    """LSTM over time with the fused kernels. xw (T, B, 4H), h0, c0 (B, H), w_hh (4H, H),
    b_hh (4H,) or None, mask (T, B) bool or None. Returns (out (T, B, H), h_T, c_T (B, H))."""
    xw, mask = _prepare(xw, mask)
    if torch.is_grad_enabled():
        return _FusedLSTM.apply(xw, h0, c0, w_hh, b_hh, mask, block)
    out, s, c_all, _, _ = _lstm_forward(xw, h0, c0, w_hh, b_hh, mask, block)
    return out, s.h_all[-1].to(h0.dtype), c_all[-1].to(c0.dtype)


def gru_scan_fused(xw, h0, w_hh, b_hh=None, variant="torch", mask=None, *, block=None):
    """GRU over time with the fused kernels. xw (T, B, 3H), h0 (B, H), w_hh (3H, H),
    variant "torch" or "original", mask (T, B). Returns (out (T, B, H), h_T (B, H))."""
    xw, mask = _prepare(xw, mask)
    fn, forward = {
        "torch": (_FusedGRU, _gru_forward),
        "original": (_FusedGRUOriginal, _gru_original_forward),
    }[variant]
    if torch.is_grad_enabled():
        return fn.apply(xw, h0, w_hh, b_hh, mask, block)
    out, s, *_ = forward(xw, h0, w_hh, b_hh, mask, block)
    return out, s.h_all[-1].to(h0.dtype)


def rnn_scan_fused(xw, h0, w_hh, b_hh=None, nonlinearity="tanh", mask=None, *, block=None):
    """Elman RNN over time with the fused kernels. xw (T, B, H), h0 (B, H), w_hh (H, H),
    nonlinearity "tanh" or "relu", mask (T, B). Returns (out (T, B, H), h_T (B, H))."""
    xw, mask = _prepare(xw, mask)
    if torch.is_grad_enabled():
        return _FusedRNN.apply(xw, h0, w_hh, b_hh, nonlinearity, mask, block)
    out, s, _ = _rnn_forward(xw, h0, w_hh, b_hh, nonlinearity, mask, block)
    return out, s.h_all[-1].to(h0.dtype)
