"""Run one recurrent layer, in one direction, over time: the scratch execution path.

A layer (``rnnlab.nn.recurrent``) handles depth, direction and lengths; for each
(layer, direction) it hoists the input projection for all T steps into one matrix
product, ``xw = x W_ih^T + b_ih`` of shape (T, B, G*H), and calls one of the scans
below, which run the recurrence step by step with the functions of
``rnnlab.nn.functional``.

Variable lengths are handled with a mask (T, B): where mask[t, b] is 0 the state
is carried unchanged and the output is zero, so that the final state of each
sequence is the state at its own last real step. (The layer turns each sequence
around within its own length for the reverse direction, so a reverse scan is a
forward scan over reversed data.)

Two implementations of each scan, with the same signature:

* ``*_scan_reference``: the plain loop below; autograd differentiates it. It is the
  definition, supports everything (higher-order gradients, LSTM projections) and is
  what the tests compare against.
* ``rnnlab.nn.bptt``: the same arithmetic with in-place ops into preallocated buffers
  and a hand-written backward pass through time (about half the ops per step).

The public ``rnn_scan``, ``lstm_scan`` and ``gru_scan`` dispatch: the hand BPTT when a
gradient is needed, its graph-free forward when none is, and the reference for an LSTM
with a projection (``w_hr``). The hand backward is itself not differentiable: for
higher-order gradients (``create_graph=True``) call the ``*_reference`` scans.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.nn import bptt
from rnnlab.nn import functional as RF
from rnnlab.nn._checks import check_time_steps

__all__ = [
    "rnn_scan",
    "lstm_scan",
    "gru_scan",
    "rnn_scan_reference",
    "lstm_scan_reference",
    "gru_scan_reference",
]


def _needs_grad(*tensors: Tensor | None) -> bool:
    """Whether autograd will record a graph through any of ``tensors``."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def _blend(mask_t: Tensor | None, new: Tensor, old: Tensor) -> Tensor:
    """Where mask_t (B, 1) is 1 take ``new``, else keep ``old``."""
    if mask_t is None:
        return new
    return torch.where(mask_t, new, old)


def rnn_scan_reference(
    xw: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Elman RNN over time (reference loop).

    Args:
        xw: (T, B, H) input projections x_t W_ih^T + b_ih.
        h0: (B, H) initial state.  w_hh: (H, H).  b_hh: (H,) or None.
        mask: (T, B) bool, True at real steps; None means all steps are real.
    Returns:
        (out (T, B, H), h_T (B, H)); out is zero where mask is False.
    """
    check_time_steps(xw.shape[0], xw.shape)
    h = h0
    outs = []
    for t in range(xw.shape[0]):
        h_new = RF.rnn_recurrent_step(xw[t], h, w_hh, b_hh, nonlinearity)
        m = None if mask is None else mask[t].unsqueeze(1)  # (B, 1)
        h = _blend(m, h_new, h)
        outs.append(h_new if m is None else h_new * m)
    return torch.stack(outs), h


def lstm_scan_reference(
    xw: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    w_hr: Tensor | None = None,
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """LSTM over time (reference loop).

    Args:
        xw: (T, B, 4H) input projections.  h0: (B, P).  c0: (B, H).
        w_hh: (4H, P).  b_hh: (4H,) or None.  w_hr: (P, H) or None (then P = H).
        mask: (T, B) bool or None.
    Returns:
        (out (T, B, P), h_T (B, P), c_T (B, H)).
    """
    check_time_steps(xw.shape[0], xw.shape)
    h, c = h0, c0
    outs = []
    for t in range(xw.shape[0]):
        h_new, c_new = RF.lstm_recurrent_step(xw[t], h, c, w_hh, b_hh, w_hr)
        m = None if mask is None else mask[t].unsqueeze(1)
        h, c = _blend(m, h_new, h), _blend(m, c_new, c)
        outs.append(h_new if m is None else h_new * m)
    return torch.stack(outs), h, c


def gru_scan_reference(
    xw: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    variant: str = "torch",
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """GRU over time (reference loop).

    Args:
        xw: (T, B, 3H) input projections.  h0: (B, H).  w_hh: (3H, H).  b_hh: (3H,) or None.
        variant: "torch" or "original" (see ``functional.gru_recurrent_step``).
        mask: (T, B) bool or None.
    Returns:
        (out (T, B, H), h_T (B, H)).
    """
    check_time_steps(xw.shape[0], xw.shape)
    h = h0
    outs = []
    for t in range(xw.shape[0]):
        h_new = RF.gru_recurrent_step(xw[t], h, w_hh, b_hh, variant)
        m = None if mask is None else mask[t].unsqueeze(1)
        h = _blend(m, h_new, h)
        outs.append(h_new if m is None else h_new * m)
    return torch.stack(outs), h


# ---------------------------------------------------------------------------
# Public dispatchers: same signatures and results as the references, faster.
# ---------------------------------------------------------------------------


def rnn_scan(
    xw: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Elman RNN over time; see ``rnn_scan_reference`` for shapes and semantics."""
    check_time_steps(xw.shape[0], xw.shape)  # T = 0: a clear error, not an IndexError
    if _needs_grad(xw, h0, w_hh, b_hh):
        return bptt.rnn_scan_bptt(xw, h0, w_hh, b_hh, nonlinearity, mask)
    return bptt.rnn_scan_forward(xw, h0, w_hh, b_hh, nonlinearity, mask)


def lstm_scan(
    xw: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    w_hr: Tensor | None = None,
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """LSTM over time; see ``lstm_scan_reference``. With ``w_hr`` it is the reference."""
    check_time_steps(xw.shape[0], xw.shape)
    if w_hr is not None:
        return lstm_scan_reference(xw, h0, c0, w_hh, b_hh, w_hr, mask)
    if _needs_grad(xw, h0, c0, w_hh, b_hh):
        return bptt.lstm_scan_bptt(xw, h0, c0, w_hh, b_hh, mask)
    return bptt.lstm_scan_forward(xw, h0, c0, w_hh, b_hh, mask)


def gru_scan(
    xw: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None = None,
    variant: str = "torch",
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """GRU over time; see ``gru_scan_reference`` for shapes and semantics."""
    check_time_steps(xw.shape[0], xw.shape)
    if variant not in ("torch", "original"):
        raise ValueError(f"variant must be 'torch' or 'original', got {variant!r}")
    if _needs_grad(xw, h0, w_hh, b_hh):
        return bptt.gru_scan_bptt(xw, h0, w_hh, b_hh, variant, mask)
    return bptt.gru_scan_forward(xw, h0, w_hh, b_hh, variant, mask)
