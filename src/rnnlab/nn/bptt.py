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


def _steps(*tensors: Tensor | None) -> list[tuple]:
    """Per-step views: row t holds ``x[t]`` for each (T, ...) tensor x (None stays None).

    ``unbind`` makes all T views in one call; indexing inside the loop would cost a
    dispatcher round trip per view, which at small sizes rivals the arithmetic.
    """
    T = next(x.shape[0] for x in tensors if x is not None)
    return list(zip(*(x.unbind(0) if x is not None else (None,) * T for x in tensors)))


def _plus_bias(xw: Tensor, b: Tensor | None) -> Tensor:
    """A fresh contiguous (T, B, G) buffer holding xw + b (b broadcast over T, B)."""
    out = torch.empty(xw.shape, dtype=xw.dtype, device=xw.device)
    if b is None:
        return out.copy_(xw)
    return torch.add(xw, b, out=out)


def _right_operand(w: Tensor) -> Tensor:
    """w^T as a contiguous (H, G) matrix: ``h @ w^T`` is markedly faster with a row-major
    right operand than with a transposed view (measured 1.6x for (20, 200) x (200, 800))."""
    return w.t().contiguous()


def _float_mask(mask: Tensor | None, like: Tensor) -> tuple[Tensor, Tensor] | tuple[None, None]:
    """(m, 1 - m) as (T, B, 1) tensors of ``like``'s dtype, or (None, None)."""
    if mask is None:
        return None, None
    m = mask.to(dtype=like.dtype).unsqueeze(-1)  # (T, B, 1)
    return m, 1.0 - m


def _step_mask(mask: Tensor | None) -> Tensor | None:
    return None if mask is None else mask.unsqueeze(-1)  # (T, B, 1) bool


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
    """Returns out (T, B, H), gates (T, B, 4H) with i, f, o activated (the g block holds
    garbage), g_all = tanh(g) and c_all, tanh_c, h_all (T, B, H).

    h_all / c_all are the carried states after each step (equal to the new states
    where the mask is True).
    """
    T, B, G = xw.shape
    H = G // 4
    gates = _plus_bias(xw, b_hh)  # (T, B, 4H) pre-activations, then activated in place
    i, f, g_pre, o = gates.view(T, B, 4, H).unbind(2)  # 4 x (T, B, H) views
    g_all, h_all, c_all, tanh_c = (xw.new_empty(T, B, H) for _ in range(4))
    w_t = _right_operand(w_hh)  # (H, 4H)
    hw = xw.new_empty(B, G)  # h_{t-1} W^T, reused each step
    h, c = h0, c0
    rows = _steps(gates, i, f, g_pre, o, g_all, c_all, tanh_c, h_all, _step_mask(mask))
    for a, i_t, f_t, g_pre_t, o_t, g_t, c_new, tc, h_new, m in rows:
        # xw_t + b + h W^T. A plain product then an add: on some CPUs (Xeon, MKL) a
        # GEMM with beta = 1 costs more than the extra add; elsewhere it is a wash.
        a.add_(torch.mm(h, w_t, out=hw))
        # tanh of the g block into its own contiguous buffer, then one sigmoid over the
        # whole row (the g block's sigmoid is unused): two ops instead of three strided.
        torch.tanh(g_pre_t, out=g_t)
        a.sigmoid_()
        torch.mul(f_t, c, out=c_new).addcmul_(i_t, g_t)  # c_t = f c_{t-1} + i g
        torch.tanh(c_new, out=tc)
        torch.mul(o_t, tc, out=h_new)  # h_t = o tanh(c_t)
        if m is not None:
            torch.where(m, c_new, c, out=c_new)
            torch.where(m, h_new, h, out=h_new)
        h, c = h_new, c_new
    out = h_all if mask is None else h_all * mask.unsqueeze(-1)
    return out, gates, g_all, c_all, tanh_c, h_all


class _LSTMScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, b_hh, mask):
        out, gates, g, c_all, tanh_c, h_all = _lstm_forward(xw, h0, c0, w_hh, b_hh, mask)
        ctx.save_for_backward(h0, c0, w_hh, b_hh, mask, gates, g, c_all, tanh_c, h_all)
        return out, h_all[-1].clone(), c_all[-1].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT, d_cT):
        h0, c0, w_hh, b_hh, mask, gates, g, c_all, tanh_c, h_all = ctx.saved_tensors
        T, B, G = gates.shape
        H = G // 4
        i, f, _, o = gates.split(H, dim=2)  # 4 x (T, B, H); g is saved apart
        # dL/d(pre-activation) = K * [dc~, dc~, dc~, dh] with dc~ = dc + dh * o (1 - tanh^2 c).
        # K (T, B, 4H) is written block by block and becomes dG in place.
        K = torch.empty_like(gates)
        k_i, k_f, k_g, k_o = K.split(H, dim=2)
        torch.mul(g, i, out=k_i).mul_(1 - i)  # g i (1 - i)
        torch.mul(_previous(c0, c_all), f, out=k_f).mul_(1 - f)  # c_{t-1} f (1 - f)
        torch.mul(g, g, out=k_g).neg_().add_(1).mul_(i)  # i (1 - g^2)
        torch.mul(tanh_c, o, out=k_o).mul_(1 - o)  # tanh(c_t) o (1 - o)
        o_coef = o * (1 - tanh_c * tanh_c)  # d h / d c through tanh: (T, B, H)
        f_carry, h_carry = f, None
        m, not_m = _float_mask(mask, gates)
        if m is not None:
            K.mul_(m)
            o_coef = o_coef * m
            f_carry = f * m + not_m  # masked steps pass dc straight through
            h_carry = not_m  # ... and dh
            d_out = d_out * m
        dH = torch.empty_like(h_all)  # (T, B, H) gradient reaching h_t (state and output)
        torch.add(d_out[T - 1], d_hT, out=dH[T - 1])
        dc = d_cT.unsqueeze(1)  # (B, 1, H): (B, 1, H) views broadcast against (B, 3, H)
        rows = _steps(
            K,
            K.view(T, B, 4, H)[:, :, :3],
            K[..., 3 * H :],
            dH,
            dH.unsqueeze(2),
            o_coef.unsqueeze(2),
            f_carry.unsqueeze(2),
            h_carry,
        )
        previous = _steps(d_out, dH)
        for t in range(T - 1, -1, -1):
            k, k_ifg, k_o, dh, dh_1, o_c, f_c, h_c = rows[t]
            dct = torch.addcmul(dc, dh_1, o_c)  # (B, 1, H)
            k_ifg.mul_(dct)
            k_o.mul_(dh)
            dc = dct.mul_(f_c)
            if t == 0:
                break
            d_out_prev, dh_prev = previous[t - 1]
            if h_c is None:
                torch.addmm(d_out_prev, k, w_hh, out=dh_prev)
            else:
                torch.addcmul(d_out_prev, dh, h_c, out=dh_prev).addmm_(k, w_hh)
        k, dh, h_c = rows[0][0], rows[0][3], rows[0][7]
        dh0 = torch.mm(k, w_hh) if h_c is None else torch.addmm(dh * h_c, k, w_hh)
        dG = K  # (T, B, 4H): also the gradient of xw
        d_w = _weight_grad(dG, _previous(h0, h_all)) if ctx.needs_input_grad[3] else None
        return dG, dh0, dc.squeeze(1), d_w, _bias_grad(dG, b_hh), None


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
    w_t = _right_operand(w_hh)  # (H, 3H)
    rows = _steps(
        xw[..., : 2 * H],
        xw[..., 2 * H :],
        gh_all,
        gh_all[..., : 2 * H],
        gh_all[..., 2 * H :],
        rz_all,
        rz_all[..., :H],
        rz_all[..., H:],
        n_all,
        h_all,
        _step_mask(mask),
    )
    h = h0
    for x_rz, x_n, gh, gh_rz, gh_n, rz, r, z, n, h_new, m in rows:
        if b_hh is None:
            torch.mm(h, w_t, out=gh)
        else:
            torch.addmm(b_hh, h, w_t, out=gh)
        torch.add(x_rz, gh_rz, out=rz).sigmoid_()  # r, z
        torch.addcmul(x_n, r, gh_n, out=n).tanh_()  # n = tanh(x_n + r (W_hn h + b_hn))
        torch.lerp(n, h, z, out=h_new)  # n + z (h_{t-1} - n)
        if m is not None:
            torch.where(m, h_new, h, out=h_new)
        h = h_new
    out = h_all if mask is None else h_all * mask.unsqueeze(-1)
    return out, rz_all, n_all, gh_all, h_all


def _gru_original_forward(xw, h0, w_hh, b_hh, mask):
    """Cho et al. variant, n = tanh(x_n + (r h) W_hn^T + b_hn). Returns out, rz, n, rh, h_all."""
    T, B, G = xw.shape
    H = G // 3
    b_rz, b_n = (None, None) if b_hh is None else (b_hh[: 2 * H], b_hh[2 * H :])
    w_rz_t, w_n_t = _right_operand(w_hh[: 2 * H]), _right_operand(w_hh[2 * H :])
    rz_all = _plus_bias(xw[..., : 2 * H], b_rz)  # becomes sigmoid(x_rz + h W_rz^T + b_rz)
    n_all = _plus_bias(xw[..., 2 * H :], b_n)  # becomes n
    rh_all, h_all = xw.new_empty(T, B, H), xw.new_empty(T, B, H)
    rows = _steps(rz_all, rz_all[..., :H], rz_all[..., H:], rh_all, n_all, h_all, _step_mask(mask))
    h = h0
    for rz, r, z, rh, n, h_new, m in rows:
        rz.addmm_(h, w_rz_t).sigmoid_()
        torch.mul(r, h, out=rh)
        n.addmm_(rh, w_n_t).tanh_()
        torch.lerp(n, h, z, out=h_new)
        if m is not None:
            torch.where(m, h_new, h, out=h_new)
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
        # K holds [k_r, k_z, k_n r], written block by block (no concatenation copies).
        K = torch.empty_like(gh)  # (T, B, 3H); becomes d gh in place
        k_r, k_z, k_nr = K.split(H, dim=2)
        k_n = (1 - z).mul_(1 - n * n)
        torch.mul(k_n, gh[..., 2 * H :], out=k_r).mul_(r).mul_(1 - r)
        torch.sub(h_prev, n, out=k_z).mul_(z).mul_(1 - z)
        torch.mul(k_n, r, out=k_nr)
        z_carry = z
        m, not_m = _float_mask(mask, n)
        if m is not None:
            K.mul_(m)
            k_n.mul_(m)
            z_carry = z * m + not_m
            d_out = d_out * m
        dH = torch.empty_like(n)  # gradient reaching each h_t (state + output)
        torch.add(d_out[T - 1], d_hT, out=dH[T - 1])
        rows = _steps(K, K.view(T, B, 3, H), dH, dH.unsqueeze(2), z_carry, d_out)
        for t in range(T - 1, 0, -1):
            dgh, dgh_3, dh, dh_1, z_c, _ = rows[t]
            dgh_3.mul_(dh_1)
            d_out_prev, dh_prev = rows[t - 1][5], rows[t - 1][2]
            torch.addcmul(d_out_prev, dh, z_c, out=dh_prev).addmm_(dgh, w_hh)
        dgh, dgh_3, dh, dh_1, z_c, _ = rows[0]
        dgh_3.mul_(dh_1)
        dh0 = torch.addmm(dh * z_c, dgh, w_hh)
        d_gh = K  # (T, B, 3H)
        d_w = _weight_grad(d_gh, h_prev) if ctx.needs_input_grad[2] else None
        d_b = _bias_grad(d_gh, b_hh)
        # d xw equals d gh except in the n block (no factor r there): reuse the buffer.
        d_xw = d_gh
        torch.mul(dH, k_n, out=d_xw[..., 2 * H :])
        return d_xw, dh0, d_w, d_b, None


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
        rows = _steps(d_n, d_rz, d_rz[..., :H], d_rz[..., H:], k_n, k_r, k_z, z_carry, r, d_out)
        dh = d_out[T - 1] + d_hT
        for t in range(T - 1, -1, -1):
            dn, drz, dr, dz, k_n_t, k_r_t, k_z_t, z_c, r_t, _ = rows[t]
            torch.mul(dh, k_n_t, out=dn)
            d_rh = dn @ w_n  # (B, H) gradient of r h_{t-1}
            torch.mul(d_rh, k_r_t, out=dr)
            torch.mul(dh, k_z_t, out=dz)
            base = dh * z_c if t == 0 else torch.addcmul(rows[t - 1][9], dh, z_c)
            dh = base.addcmul_(d_rh, r_t).addmm_(drz, w_rz)
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
    act_ = {"tanh": torch.Tensor.tanh_, "relu": torch.Tensor.relu_}[nonlinearity]
    new = _plus_bias(xw, b_hh)  # becomes act(xw_t + b + h W^T) in place
    h_all = new if mask is None else torch.empty_like(new)
    w_t = _right_operand(w_hh)
    h = h0
    for a, h_t, m in _steps(new, h_all, _step_mask(mask)):
        h_new = act_(a.addmm_(h, w_t))
        if m is not None:
            h_new = torch.where(m, h_new, h, out=h_t)
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
        h_carry = None
        if m is not None:
            K.mul_(m)
            d_out = d_out * m
            h_carry = not_m
        dH = torch.empty_like(new)
        torch.add(d_out[T - 1], d_hT, out=dH[T - 1])
        rows = _steps(K, dH, d_out, h_carry)
        for t in range(T - 1, 0, -1):
            k, dh, _, h_c = rows[t]
            k.mul_(dh)  # (B, H) gradient of the pre-activation
            _, dh_prev, d_out_prev, _ = rows[t - 1]
            if h_c is None:
                torch.addmm(d_out_prev, k, w_hh, out=dh_prev)
            else:
                torch.addcmul(d_out_prev, dh, h_c, out=dh_prev).addmm_(k, w_hh)
        k, dh, _, h_c = rows[0]
        k.mul_(dh)
        dh0 = torch.mm(k, w_hh) if h_c is None else torch.addmm(dh * h_c, k, w_hh)
        d_w = _weight_grad(K, _previous(h0, h_all)) if ctx.needs_input_grad[2] else None
        return K, dh0, d_w, _bias_grad(K, b_hh), None, None


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
    out, *_, c_all, _, h_all = _lstm_forward(xw, h0, c0, w_hh, b_hh, mask)
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
