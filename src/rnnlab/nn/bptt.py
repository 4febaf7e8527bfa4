"""Fast scans with a hand-written backward pass through time (BPTT).

Same signatures and the same arithmetic as the reference loops of ``rnnlab.nn.scan``
(time-major ``xw (T, B, G*H)``, the hoisted input projection; ``mask (T, B)`` bool or
None: outputs are zero at masked steps, the state is carried through them), but each
scan is one ``torch.autograd.Function``:

* forward runs the recurrence with in-place ops into preallocated (T, B, .) buffers and
  keeps the activated gates;
* backward walks t = T-1 .. 0 doing only what is truly sequential: one matrix product
  (the gradient through ``h_{t-1} W_hh^T``) and two or three element-wise ops per step.
  Everything that does not depend on the incoming gradient (the gate derivatives, the
  mask) is folded beforehand into one coefficient tensor K (T, B, G*H), computed for all
  steps at once. The weight gradient is one large product at the end:
  ``dW_hh = dG^T H_prev`` with dG (T*B, G*H) the stacked per-step gate gradients and
  H_prev (T*B, H) the states each step read.

Mask algebra (m = mask[t] in {0, 1}): ``h_t = m * h~_t + (1 - m) * h_{t-1}`` and
``out_t = m * h~_t``; so the gradient reaching the new candidate is ``m * (dh_t + dout_t)``
and ``(1 - m) * dh_t`` flows straight to ``h_{t-1}``. Multiplying K and dout by m once,
before the loop, makes masked rows contribute nothing without any extra op per step.

The backward pass is not itself differentiable (no double backward); use the reference
scans for higher-order gradients. LSTM with ``proj_size`` has no hand BPTT here
(``rnnlab.nn.scan`` falls back to the reference loop for it).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

__all__ = [
    "lstm_scan_bptt",
    "gru_scan_bptt",
    "rnn_scan_bptt",
    "lstm_scan_forward",
    "gru_scan_forward",
    "rnn_scan_forward",
]


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _plus_bias(xw: Tensor, b: Tensor | None) -> Tensor:
    """A fresh contiguous (T, B, G) buffer holding xw + b (b broadcast over T, B)."""
    out = torch.empty(xw.shape, dtype=xw.dtype, device=xw.device)
    if b is None:
        return out.copy_(xw)
    return torch.add(xw, b, out=out)


def _float_mask(mask: Tensor | None, like: Tensor) -> tuple[Tensor, Tensor] | tuple[None, None]:
    """(m, 1 - m) as (T, B, 1) tensors of ``like``'s dtype, or (None, None)."""
    if mask is None:
        return None, None
    m = mask.to(dtype=like.dtype).unsqueeze(-1)  # (T, B, 1)
    return m, 1.0 - m


def _previous(first: Tensor, states: Tensor) -> Tensor:
    """Stack of the states each step read: (T, B, H) = [first, states[0], ..., states[T-2]]."""
    return torch.cat([first.unsqueeze(0), states[:-1]])


def _weight_grad(dg: Tensor, h_prev: Tensor) -> Tensor:
    """dW (G, H) = sum_t dg_t^T h_prev_t as one product: (G, T*B) x (T*B, H)."""
    G, H = dg.shape[-1], h_prev.shape[-1]
    return dg.reshape(-1, G).t() @ h_prev.reshape(-1, H)


def _bias_grad(dg: Tensor, b: Tensor | None) -> Tensor | None:
    return None if b is None else dg.sum(dim=(0, 1))


# ---------------------------------------------------------------------------
# LSTM (gate order i, f, g, o)
# ---------------------------------------------------------------------------


def _lstm_forward(xw, h0, c0, w_hh, b_hh, mask):
    """Returns out (T, B, H), gates (T, B, 4H) activated, c_all, tanh_c, h_all (T, B, H).

    h_all / c_all are the carried states after each step (equal to the new states
    where the mask is True).
    """
    T, B, G = xw.shape
    H = G // 4
    gates = _plus_bias(xw, b_hh)  # (T, B, 4H); becomes the activated gates in place
    h_all, c_all, tanh_c = (xw.new_empty(T, B, H) for _ in range(3))
    w_t = w_hh.t()  # (H, 4H)
    h, c = h0, c0
    for t in range(T):
        a = gates[t].addmm_(h, w_t)  # (B, 4H) pre-activations
        a[:, : 2 * H].sigmoid_()  # i, f
        a[:, 2 * H : 3 * H].tanh_()  # g
        a[:, 3 * H :].sigmoid_()  # o
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        c_new = torch.mul(f, c, out=c_all[t]).addcmul_(i, g)  # c_t = f c_{t-1} + i g
        tc = torch.tanh(c_new, out=tanh_c[t])
        h_new = torch.mul(o, tc, out=h_all[t])  # h_t = o tanh(c_t)
        if mask is not None:
            m = mask[t].unsqueeze(1)  # (B, 1)
            torch.where(m, c_new, c, out=c_new)
            torch.where(m, h_new, h, out=h_new)
        h, c = h_new, c_new
    out = h_all if mask is None else h_all * mask.unsqueeze(-1)
    return out, gates, c_all, tanh_c, h_all


class _LSTMScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, b_hh, mask):
        out, gates, c_all, tanh_c, h_all = _lstm_forward(xw, h0, c0, w_hh, b_hh, mask)
        ctx.save_for_backward(h0, c0, w_hh, b_hh, mask, gates, c_all, tanh_c, h_all)
        return out, h_all[-1].clone(), c_all[-1].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT, d_cT):
        h0, c0, w_hh, b_hh, mask, gates, c_all, tanh_c, h_all = ctx.saved_tensors
        T, B, G = gates.shape
        H = G // 4
        i, f, g, o = gates.split(H, dim=2)  # 4 x (T, B, H)
        # dL/d(pre-activation) = K * [dc~, dc~, dc~, dh] with dc~ = dc + dh * o (1 - tanh^2 c)
        K = torch.cat(
            [
                g * i * (1 - i),
                _previous(c0, c_all) * f * (1 - f),
                i * (1 - g * g),
                tanh_c * o * (1 - o),
            ],
            dim=2,
        )  # (T, B, 4H)
        o_coef = o * (1 - tanh_c * tanh_c)  # d h / d c through tanh: (T, B, H)
        f_carry = f
        m, not_m = _float_mask(mask, gates)
        if m is not None:
            K.mul_(m)
            o_coef = o_coef * m
            f_carry = f * m + not_m  # masked steps pass dc straight through
            d_out = d_out * m
        dh = d_out[T - 1] + d_hT
        dc = d_cT
        for t in range(T - 1, -1, -1):
            dct = torch.addcmul(dc, dh, o_coef[t])  # (B, H)
            k = K[t]  # (B, 4H), turned into dG_t in place
            k.view(B, 4, H)[:, :3].mul_(dct.unsqueeze(1))
            k[:, 3 * H :].mul_(dh)
            dc = dct.mul_(f_carry[t])
            if m is None:
                base = d_out[t - 1] if t > 0 else None
            else:
                base = torch.addcmul(d_out[t - 1], dh, not_m[t]) if t > 0 else dh * not_m[0]
            dh = torch.mm(k, w_hh) if base is None else torch.addmm(base, k, w_hh)
        dG = K  # (T, B, 4H): gradient of the gate pre-activations = gradient of xw
        d_w = _weight_grad(dG, _previous(h0, h_all)) if ctx.needs_input_grad[3] else None
        return dG, dh, dc, d_w, _bias_grad(dG, b_hh), None


# ---------------------------------------------------------------------------
# GRU (gate order r, z, n; h_t = (1 - z) n + z h_{t-1})
# ---------------------------------------------------------------------------


def _gru_forward(xw, h0, w_hh, b_hh, mask):
    """torch variant. Returns out, rz (T, B, 2H), n (T, B, H), gh (T, B, 3H), h_all."""
    T, B, G = xw.shape
    H = G // 3
    xw = xw.contiguous()
    gh_all = xw.new_empty(T, B, G)  # h_{t-1} W_hh^T + b_hh
    rz_all = xw.new_empty(T, B, 2 * H)
    n_all, h_all = xw.new_empty(T, B, H), xw.new_empty(T, B, H)
    w_t = w_hh.t()
    h = h0
    for t in range(T):
        gh = (
            torch.mm(h, w_t, out=gh_all[t])
            if b_hh is None
            else torch.addmm(b_hh, h, w_t, out=gh_all[t])
        )
        rz = torch.add(xw[t, :, : 2 * H], gh[:, : 2 * H], out=rz_all[t]).sigmoid_()
        r, z = rz[:, :H], rz[:, H:]
        n = torch.addcmul(xw[t, :, 2 * H :], r, gh[:, 2 * H :], out=n_all[t]).tanh_()
        h_new = torch.lerp(n, h, z, out=h_all[t])  # n + z (h_{t-1} - n)
        if mask is not None:
            torch.where(mask[t].unsqueeze(1), h_new, h, out=h_new)
        h = h_new
    out = h_all if mask is None else h_all * mask.unsqueeze(-1)
    return out, rz_all, n_all, gh_all, h_all


def _gru_original_forward(xw, h0, w_hh, b_hh, mask):
    """Cho et al. variant, n = tanh(x_n + (r h) W_hn^T + b_hn). Returns out, rz, n, rh, h_all."""
    T, B, G = xw.shape
    H = G // 3
    b_rz, b_n = (None, None) if b_hh is None else (b_hh[: 2 * H], b_hh[2 * H :])
    w_rz_t, w_n_t = w_hh[: 2 * H].t(), w_hh[2 * H :].t()
    rz_all = xw[..., : 2 * H].clone(
        memory_format=torch.contiguous_format
    )  # becomes sigmoid(x_rz + h W_rz^T + b_rz)
    n_all = _plus_bias(xw[..., 2 * H :], b_n)  # becomes n
    rh_all, h_all = xw.new_empty(T, B, H), xw.new_empty(T, B, H)
    h = h0
    for t in range(T):
        rz = rz_all[t].addmm_(h, w_rz_t)
        if b_rz is not None:
            rz.add_(b_rz)
        rz.sigmoid_()
        r, z = rz[:, :H], rz[:, H:]
        rh = torch.mul(r, h, out=rh_all[t])
        n = n_all[t].addmm_(rh, w_n_t).tanh_()
        h_new = torch.lerp(n, h, z, out=h_all[t])
        if mask is not None:
            torch.where(mask[t].unsqueeze(1), h_new, h, out=h_new)
        h = h_new
    out = h_all if mask is None else h_all * mask.unsqueeze(-1)
    return out, rz_all, n_all, rh_all, h_all


class _GRUScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, w_hh, b_hh, mask):
        out, rz, n, gh, h_all = _gru_forward(xw, h0, w_hh, b_hh, mask)
        ctx.save_for_backward(h0, w_hh, b_hh, mask, rz, n, gh, h_all)
        return out, h_all[-1].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT):
        h0, w_hh, b_hh, mask, rz, n, gh, h_all = ctx.saved_tensors
        T, B, H = n.shape
        r, z = rz.split(H, dim=2)
        h_prev = _previous(h0, h_all)
        # With dh the gradient reaching h_t:  d n_pre = dh k_n,  d z_pre = dh k_z,
        # d r_pre = dh k_r;  d xw = dh [k_r, k_z, k_n],  d gh = dh [k_r, k_z, k_n r].
        k_n = (1 - z) * (1 - n * n)
        k_r = k_n * gh[..., 2 * H :] * r * (1 - r)
        k_z = (h_prev - n) * z * (1 - z)
        K_x = torch.cat([k_r, k_z, k_n], dim=2)  # (T, B, 3H)
        K_h = torch.cat([k_r, k_z, k_n * r], dim=2)  # (T, B, 3H)
        z_carry = z
        m, not_m = _float_mask(mask, n)
        if m is not None:
            K_x.mul_(m)
            K_h.mul_(m)
            z_carry = z * m + not_m
            d_out = d_out * m
        dH = torch.empty_like(n)  # gradient reaching each h_t (state + output)
        torch.add(d_out[T - 1], d_hT, out=dH[T - 1])
        for t in range(T - 1, -1, -1):
            dgh = K_h[t].view(B, 3, H).mul_(dH[t].unsqueeze(1)).view(B, 3 * H)
            if t > 0:
                torch.addcmul(d_out[t - 1], dH[t], z_carry[t], out=dH[t - 1]).addmm_(dgh, w_hh)
            else:
                dh0 = torch.addmm(dH[0] * z_carry[0], dgh, w_hh)
        d_xw = K_x.view(T, B, 3, H).mul_(dH.unsqueeze(2)).view(T, B, 3 * H)
        d_w = _weight_grad(K_h, h_prev) if ctx.needs_input_grad[2] else None
        return d_xw, dh0, d_w, _bias_grad(K_h, b_hh), None


class _GRUOriginalScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, w_hh, b_hh, mask):
        out, rz, n, rh, h_all = _gru_original_forward(xw, h0, w_hh, b_hh, mask)
        ctx.save_for_backward(h0, w_hh, b_hh, mask, rz, n, rh, h_all)
        return out, h_all[-1].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT):
        h0, w_hh, b_hh, mask, rz, n, rh, h_all = ctx.saved_tensors
        T, B, H = n.shape
        r, z = rz.split(H, dim=2)
        w_rz, w_n = w_hh[: 2 * H], w_hh[2 * H :]
        h_prev = _previous(h0, h_all)
        k_n = (1 - z) * (1 - n * n)  # d n_pre = dh k_n
        k_z = (h_prev - n) * z * (1 - z)  # d z_pre = dh k_z
        k_r = h_prev * r * (1 - r)  # d r_pre = d(r h) k_r
        z_carry = z
        m, not_m = _float_mask(mask, n)
        if m is not None:
            k_n, k_z = k_n * m, k_z * m
            z_carry = z * m + not_m
            d_out = d_out * m
        d_n = torch.empty_like(n)  # (T, B, H) gradient of the n pre-activation
        d_rz = torch.empty_like(rz)  # (T, B, 2H) gradient of the r, z pre-activations
        dh = d_out[T - 1] + d_hT
        for t in range(T - 1, -1, -1):
            dn = torch.mul(dh, k_n[t], out=d_n[t])
            d_rh = dn @ w_n  # (B, H) gradient of r h_{t-1}
            torch.mul(d_rh, k_r[t], out=d_rz[t, :, :H])
            torch.mul(dh, k_z[t], out=d_rz[t, :, H:])
            base = dh * z_carry[t] if t == 0 else torch.addcmul(d_out[t - 1], dh, z_carry[t])
            dh = base.addcmul_(d_rh, r[t]).addmm_(d_rz[t], w_rz)
        d_xw = torch.cat([d_rz, d_n], dim=2)  # (T, B, 3H)
        d_w = None
        if ctx.needs_input_grad[2]:
            d_w = torch.cat([_weight_grad(d_rz, h_prev), _weight_grad(d_n, rh)])
        return d_xw, dh, d_w, _bias_grad(d_xw, b_hh), None


# ---------------------------------------------------------------------------
# Elman RNN
# ---------------------------------------------------------------------------


def _rnn_forward(xw, h0, w_hh, b_hh, nonlinearity, mask):
    """Returns out (T, B, H), new states h~ (T, B, H), carried states h_all (T, B, H)."""
    T = xw.shape[0]
    act_ = {"tanh": torch.Tensor.tanh_, "relu": torch.Tensor.relu_}[nonlinearity]
    new = _plus_bias(xw, b_hh)  # becomes act(xw_t + b + h W^T) in place
    h_all = new if mask is None else torch.empty_like(new)
    w_t = w_hh.t()
    h = h0
    for t in range(T):
        h_new = act_(new[t].addmm_(h, w_t))
        if mask is not None:
            h_new = torch.where(mask[t].unsqueeze(1), h_new, h, out=h_all[t])
        h = h_new
    out = new if mask is None else new * mask.unsqueeze(-1)
    return out, new, h_all


class _RNNScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, w_hh, b_hh, nonlinearity, mask):
        out, new, h_all = _rnn_forward(xw, h0, w_hh, b_hh, nonlinearity, mask)
        ctx.nonlinearity = nonlinearity
        ctx.save_for_backward(h0, w_hh, b_hh, mask, new, h_all)
        # ``out`` may be ``new`` itself (no mask): clone so that outputs do not alias.
        return (out.clone() if out is new else out), h_all[-1].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT):
        h0, w_hh, b_hh, mask, new, h_all = ctx.saved_tensors
        T = new.shape[0]
        K = 1 - new * new if ctx.nonlinearity == "tanh" else (new > 0).to(new.dtype)
        m, not_m = _float_mask(mask, new)
        if m is not None:
            K.mul_(m)
            d_out = d_out * m
        dh = d_out[T - 1] + d_hT
        for t in range(T - 1, -1, -1):
            k = K[t].mul_(dh)  # (B, H) gradient of the pre-activation
            if m is None:
                dh = torch.mm(k, w_hh) if t == 0 else torch.addmm(d_out[t - 1], k, w_hh)
            else:
                base = dh * not_m[0] if t == 0 else torch.addcmul(d_out[t - 1], dh, not_m[t])
                dh = base.addmm_(k, w_hh)
        d_w = _weight_grad(K, _previous(h0, h_all)) if ctx.needs_input_grad[2] else None
        return K, dh, d_w, _bias_grad(K, b_hh), None, None


# ---------------------------------------------------------------------------
# Public entry points (signatures of rnnlab.nn.scan)
# ---------------------------------------------------------------------------


def lstm_scan_bptt(xw, h0, c0, w_hh, b_hh=None, mask=None):
    """LSTM scan with hand BPTT. xw (T, B, 4H), h0, c0 (B, H), w_hh (4H, H), b_hh (4H,),
    mask (T, B) bool or None. Returns (out (T, B, H), h_T (B, H), c_T (B, H))."""
    return _LSTMScan.apply(xw, h0, c0, w_hh, b_hh, mask)


def gru_scan_bptt(xw, h0, w_hh, b_hh=None, variant="torch", mask=None):
    """GRU scan with hand BPTT. xw (T, B, 3H), h0 (B, H), w_hh (3H, H), b_hh (3H,),
    variant "torch" or "original", mask (T, B). Returns (out (T, B, H), h_T (B, H))."""
    fn = {"torch": _GRUScan, "original": _GRUOriginalScan}[variant]
    return fn.apply(xw, h0, w_hh, b_hh, mask)


def rnn_scan_bptt(xw, h0, w_hh, b_hh=None, nonlinearity="tanh", mask=None):
    """Elman RNN scan with hand BPTT. xw (T, B, H), h0 (B, H), w_hh (H, H), b_hh (H,),
    nonlinearity "tanh" or "relu", mask (T, B). Returns (out (T, B, H), h_T (B, H))."""
    return _RNNScan.apply(xw, h0, w_hh, b_hh, nonlinearity, mask)


@torch.no_grad()
def lstm_scan_forward(xw, h0, c0, w_hh, b_hh=None, mask=None):
    """Inference-only LSTM scan (no graph, no saved state); same returns as lstm_scan."""
    out, _, c_all, _, h_all = _lstm_forward(xw, h0, c0, w_hh, b_hh, mask)
    return out, h_all[-1].clone(), c_all[-1].clone()


@torch.no_grad()
def gru_scan_forward(xw, h0, w_hh, b_hh=None, variant="torch", mask=None):
    """Inference-only GRU scan; same returns as gru_scan."""
    forward = {"torch": _gru_forward, "original": _gru_original_forward}[variant]
    out, *_, h_all = forward(xw, h0, w_hh, b_hh, mask)
    return out, h_all[-1].clone()


@torch.no_grad()
def rnn_scan_forward(xw, h0, w_hh, b_hh=None, nonlinearity="tanh", mask=None):
    """Inference-only Elman RNN scan; same returns as rnn_scan."""
    out, _, h_all = _rnn_forward(xw, h0, w_hh, b_hh, nonlinearity, mask)
    return out, h_all[-1].clone()
