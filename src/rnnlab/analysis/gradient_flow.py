"""Gradient flow through time: how much of the loss at the last step reaches step t.

For a layer replayed step by step (``rnnlab.analysis.unroll``), with the loss at the last
step, L = sum_b loss(h_T[b]):

* ``state_gradient_norms``: ||dL/dh_t|| (and ||dL/dc_t|| for LSTMs) for every t;
* ``jacobian_norms``: ||dh_T/dh_t||_F for every t (the loss-free version);
* ``decay_rate``: a log-linear fit, norm ~ a * rate^(T - t); rate < 1 vanishes, > 1 explodes;
* ``cell_path_check``: for an LSTM with h cut from the gates, dc_T/dc_t is exactly
  diag(prod_{s=t+1..T} f_s) (the constant error carousel of Hochreiter & Schmidhuber 1997,
  with the forget gate of Gers et al. 2000): true by construction, so it checks the replay;
  beside it the full dc_T/dc_t (all paths, nothing cut), which the product only approximates;
* ``matrix_power_norms``: ||W^k||_2, the part of an RNN's Jacobian product that the
  spectral radius of W_hh governs (Pascanu, Mikolov & Bengio 2013; Bengio et al. 1994).

The experiment that runs them all is ``rnnlab.analysis.gradient_flow_experiment``.

Norms are per sample and averaged over the batch. Use float64 layers for long sequences:
float32 underflows after a few hundred steps of vanishing gradient (zeros are reported,
and left out of fits).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from rnnlab.analysis.unroll import layer_spec, unroll

__all__ = [
    "state_gradient_norms",
    "jacobian_norms",
    "decay_rate",
    "scaled_norm",
    "cell_path_check",
    "matrix_power_norms",
    "readout_vector",
    "float64_layer",
]


def readout_vector(hidden_size: int, seed: int = 0, dtype=torch.float64) -> Tensor:
    """A fixed random unit vector w (H,): the default loss is L = sum_b w . h_T[b]."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(hidden_size, generator=g, dtype=torch.float64)
    return (w / w.norm()).to(dtype)


def _forward_index(layer, k: int | None) -> int:
    spec = layer_spec(layer)
    top = (spec.num_layers - 1) * spec.num_directions
    k = top if k is None else k
    if k % spec.num_directions == 1:
        raise ValueError("gradient flow is measured on forward directions only (k even)")
    return k


def scaled_norm(g: Tensor, dim: int = -1) -> Tensor:
    """L2 norm along ``dim`` computed as max|g| * ||g / max|g|||, so that it does not underflow
    when the squares would (float64 squares vanish below ~1e-154, the values below ~1e-308)."""
    scale = g.abs().amax(dim=dim, keepdim=True)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return (g / safe).norm(dim=dim) * scale.squeeze(dim)


def _per_sample_norm(grads: list[Tensor | None], ref: list[Tensor]) -> Tensor:
    """List of T gradients (B, H) (None = no path) -> (T,) mean over batch of L2 norms."""
    out = [
        torch.zeros((), dtype=torch.float64) if g is None else scaled_norm(g.double(), 1).mean()
        for g, r in zip(grads, ref)
    ]
    return torch.stack(out)


def state_gradient_norms(
    layer: torch.nn.Module,
    x: Tensor,
    hx=None,
    *,
    loss_fn=None,
    k: int | None = None,
) -> dict[str, Tensor]:
    """||dL/dh_t|| (and ||dL/dc_t|| for LSTMs) for t = 1..T, loss at the last step.

    Args:
        layer: rnnlab.nn or torch.nn RNN / LSTM / GRU.
        x: (T, B, D) or (B, T, D) if batch_first.
        loss_fn: callable(h_T (B, H)) -> (B,) per-sample losses; default w . h_T with
            ``readout_vector``.
        k: which (layer, direction) to measure (default: the top layer, forward).
    Returns:
        {"h": (T,), "c": (T,) for LSTMs}: index t - 1 holds the norm at step t, averaged
        over the batch; the total derivative (all paths from h_t to the loss).
    """
    k = _forward_index(layer, k)
    record = unroll(layer, x, hx)[k]
    h_T = record[-1]["h"]  # (B, H)
    if loss_fn is None:
        w = readout_vector(h_T.shape[1], dtype=h_T.dtype)
        loss = (h_T @ w).sum()
    else:
        loss = loss_fn(h_T).sum()
    names = ["h", "c"] if "c" in record[0] else ["h"]
    tensors = [s[n] for n in names for s in record]
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    T = len(record)
    return {
        n: _per_sample_norm(list(grads[j * T : (j + 1) * T]), tensors[j * T : (j + 1) * T])
        for j, n in enumerate(names)
    }


def _rows_of_jacobian(out: Tensor, inputs: list[Tensor]) -> list[Tensor]:
    """d out[:, i] / d inputs[t] for all i: returns T tensors (H_out, B, H_in)."""
    H = out.shape[1]
    eye = torch.eye(H, dtype=out.dtype).unsqueeze(1).expand(H, out.shape[0], H)  # (H, B, H)
    try:
        grads = torch.autograd.grad(out, inputs, eye, is_grads_batched=True, allow_unused=True)
    except RuntimeError:  # an op without a batching rule: one backward pass per row
        rows = [
            torch.autograd.grad(out, inputs, eye[i], retain_graph=True, allow_unused=True)
            for i in range(H)
        ]
        grads = tuple(
            None if rows[0][t] is None else torch.stack([r[t] for r in rows])
            for t in range(len(inputs))
        )
    return [
        torch.zeros(H, *inp.shape, dtype=out.dtype) if g is None else g
        for g, inp in zip(grads, inputs)
    ]


def jacobian_norms(layer: torch.nn.Module, x: Tensor, hx=None, *, k: int | None = None) -> Tensor:
    """||dh_T/dh_t||_F for t = 1..T (index t - 1), per sample, averaged over the batch.

    Costs one batched backward pass over the H rows of the Jacobian.
    Returns: (T,) float64.
    """
    k = _forward_index(layer, k)
    record = unroll(layer, x, hx)[k]
    rows = _rows_of_jacobian(record[-1]["h"], [s["h"] for s in record])  # T x (H, B, H)
    return torch.stack([r.double().pow(2).sum(dim=(0, 2)).sqrt().mean() for r in rows])


def decay_rate(norms, skip_last: int = 1) -> dict[str, float]:
    """Fit log(norm_t) = a + log(rate) * (T - t) over the finite, positive norms.

    Args:
        norms: (T,) norms for t = 1..T.
        skip_last: leave out the last steps (at t = T the norm is the read-out itself).
    Returns:
        {"rate": per-step factor (< 1 vanishing, > 1 exploding), "log10_per_step",
         "fitted_steps": how many norms were used, "underflow_steps": zeros / non-finite}.
    """
    v = np.asarray(norms, dtype=np.float64)
    T = len(v)
    distance = np.arange(T - 1, -1, -1, dtype=np.float64)  # T - t for t = 1..T
    keep = np.isfinite(v) & (v > 0)
    keep[T - skip_last :] = False
    bad = int((~(np.isfinite(v) & (v > 0))).sum())
    if keep.sum() < 2:
        return {
            "rate": float("nan"),
            "log10_per_step": float("nan"),
            "fitted_steps": int(keep.sum()),
            "underflow_steps": bad,
        }
    slope, _ = np.polyfit(distance[keep], np.log(v[keep]), 1)
    return {
        "rate": math.exp(slope),
        "log10_per_step": slope / math.log(10),
        "fitted_steps": int(keep.sum()),
        "underflow_steps": bad,
    }


def cell_path_check(layer: torch.nn.Module, x: Tensor, hx=None, *, k: int = 0) -> dict:
    """An LSTM's cell path: the product of forget gates against dc_T/dc_t, measured twice.

    1. *By construction* (``measured``): the replay detaches h_{t-1} where it enters the
       gates, so c_t = f_t * c_{t-1} + i_t * g_t with f, i, g constant in c, and
       dc_T/dc_t = diag(prod_{s=t+1..T} f_s) exactly. This checks the replay and the
       algebra; it cannot disagree with the product except by rounding.
    2. *Full* (``full_measured``): the ordinary replay, where c_{t-1} also reaches c_T through
       h_{t-1} = o * tanh(c_{t-1}) and the gates of every later step. Its difference from the
       product (``full_max_error``) is how much the carousel alone misses in this layer.

    Returns:
        {"product": (T, B, H) prod of forget gates after each step (1 at t = T),
         "measured": (T, B, H) diagonal of dc_T/dc_t with h cut from the gates,
         "off_diagonal": (T,) largest |off-diagonal entry| of that Jacobian,
         "max_error": float, max |product - measured| (rounding only, by construction),
         "full_measured": (T, B, H) diagonal of the full dc_T/dc_t (all paths),
         "full_off_diagonal": (T,) largest |off-diagonal entry| of the full Jacobian,
         "full_max_error": float, max |product - full_measured|,
         "product_norm", "measured_norm", "full_norm": (T,) max over units of |diagonal|,
         averaged over the batch}.
    """
    if layer_spec(layer).family != "LSTM":
        raise TypeError(f"cell_path_check needs an LSTM, got {type(layer).__name__}")

    def diagonal(record) -> tuple[Tensor, Tensor]:
        rows = _rows_of_jacobian(record[-1]["c"], [s["c"] for s in record])  # T x (H, B, H)
        jac = torch.stack(rows).permute(0, 2, 1, 3)  # (T, H_out, B, H_in) -> (T, B, H_out, H_in)
        diag = jac.diagonal(dim1=2, dim2=3)  # (T, B, H)
        off = (jac - torch.diag_embed(diag)).abs().amax(dim=(1, 2, 3))  # (T,)
        return diag.detach(), off.detach()

    record = unroll(layer, x, hx, cut_h_to_gates=True)[k]
    measured, off = diagonal(record)
    full, full_off = diagonal(unroll(layer, x, hx)[k])
    f = torch.stack([s["f"] for s in record]).detach()  # (T, B, H)
    ones = torch.ones_like(f[:1])
    # product[t] = f[t+1] * ... * f[T-1]: a reversed cumulative product, shifted by one step
    tail = torch.cat([f[1:], ones]).flip(0).cumprod(0).flip(0)  # (T, B, H)

    def norm(d: Tensor) -> Tensor:  # (T, B, H) -> (T,)
        return d.abs().amax(dim=2).double().mean(dim=1)

    return {
        "product": tail,
        "measured": measured,
        "off_diagonal": off,
        "max_error": (tail - measured).abs().max().item(),
        "full_measured": full,
        "full_off_diagonal": full_off,
        "full_max_error": (tail - full).abs().max().item(),
        "product_norm": norm(tail),
        "measured_norm": norm(measured),
        "full_norm": norm(full),
    }


def matrix_power_norms(w: Tensor, steps: int) -> Tensor:
    """||W^k||_2 for k = 0..steps-1: (steps,) float64."""
    w = w.detach().double()
    p = torch.eye(w.shape[0], dtype=torch.float64)
    out = []
    for _ in range(steps):
        out.append(torch.linalg.matrix_norm(p, ord=2))
        p = p @ w
    return torch.stack(out)


def float64_layer(cell: str, input_size: int, hidden_size: int, seed: int, forget_bias=None, **kw):
    """A seeded, time-major, float64 ``make_layer`` layer (the caller's RNG is untouched)."""
    from rnnlab.analysis.models import make_layer

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer = make_layer(
            cell, input_size, hidden_size, forget_bias=forget_bias, batch_first=False, **kw
        )
    return layer.double()
