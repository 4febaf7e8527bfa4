"""The fused Triton scans (rnnlab.nn.fused) equal the reference loops over rnnlab.nn.functional.

Run under Triton's interpreter on CPU tensors (``TRITON_INTERPRET=1``, set by conftest.py
when there is no CUDA device); skipped when triton is not installed. Float32 to 1e-5,
forward and backward, hidden sizes that are not multiples of the kernels' block, masks.
"""

from __future__ import annotations

import pytest
import torch

from rnnlab.nn import functional as RF
from rnnlab.nn import scan
from rnnlab.nn.fused import NO_TRITON, triton_installed

pytestmark = [
    pytest.mark.triton,
    pytest.mark.skipif(not triton_installed(), reason=NO_TRITON),
]

# The kernels run on CUDA where there is a device, else under the interpreter on CPU.
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
T, B, H = 4, 2, 19  # H = 19 with block 16: two programs per row, the second 3/16 full
BLOCK = 16
TOL = dict(rtol=1e-5, atol=1e-5)


def _fused():
    from rnnlab.nn.fused import scan as fused_scan

    return fused_scan


# name -> (reference scan, fused scan name, gates G, has a cell state, kwargs)
CASES = {
    "lstm": (scan.lstm_scan_reference, "lstm_scan_fused", 4, True, {}),
    "gru": (scan.gru_scan_reference, "gru_scan_fused", 3, False, {}),
    "gru-original": (scan.gru_scan_reference, "gru_scan_fused", 3, False, {"variant": "original"}),
    "rnn-tanh": (scan.rnn_scan_reference, "rnn_scan_fused", 1, False, {}),
    "rnn-relu": (scan.rnn_scan_reference, "rnn_scan_fused", 1, False, {"nonlinearity": "relu"}),
}


def _inputs(G: int, cell_state: bool, bias: bool = True, dtype=torch.float32):
    """[xw (T, B, G*H), h0 (B, H), (c0 (B, H)), w_hh (G*H, H), b_hh (G*H,) or None]."""
    gen = torch.Generator().manual_seed(3)

    def rand(*shape, scale=1.0):
        x = torch.randn(*shape, generator=gen) * scale
        return x.to(device=DEVICE, dtype=dtype).requires_grad_()

    states = [rand(B, H)] + ([rand(B, H, scale=0.5)] if cell_state else [])
    b_hh = rand(G * H, scale=0.3) if bias else None
    return [rand(T, B, G * H, scale=0.7), *states, rand(G * H, H, scale=0.25), b_hh]


def _mask() -> torch.Tensor:
    """(T, B) bool: sequences of lengths 4 and 2."""
    return (torch.arange(T).unsqueeze(1) < torch.tensor([4, 2])).to(DEVICE)


def _grads(outputs, inputs, seed=5):
    """Gradients of a random linear function of ``outputs`` w.r.t. the ``inputs`` that exist."""
    gen = torch.Generator().manual_seed(seed)
    loss = sum((o * torch.randn(o.shape, generator=gen).to(o)).sum() for o in outputs)
    present = [x for x in inputs if x is not None]
    return torch.autograd.grad(loss, present)


@pytest.mark.parametrize("masked", [False, True], ids=["full", "masked"])
@pytest.mark.parametrize("name", list(CASES))
def test_fused_scan_equals_reference(name, masked):
    reference, fused_name, G, cell_state, kwargs = CASES[name]
    fused = getattr(_fused(), fused_name)
    args = _inputs(G, cell_state)
    mask = _mask() if masked else None
    expected = reference(*args, mask=mask, **kwargs)
    got = fused(*args, mask=mask, block=BLOCK, **kwargs)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, **TOL)
    for e, g in zip(_grads(expected, args), _grads(got, args)):
        torch.testing.assert_close(g, e, **TOL)


@pytest.mark.parametrize("name", ["lstm", "gru-original", "rnn-tanh"])
def test_fused_scan_without_bias_and_without_grad(name):
    reference, fused_name, G, cell_state, kwargs = CASES[name]
    fused = getattr(_fused(), fused_name)
    args = _inputs(G, cell_state, bias=False)
    expected = reference(*args, **kwargs)
    for e, g in zip(expected, fused(*args, **kwargs)):  # the default block (one program per row)
        torch.testing.assert_close(g, e, **TOL)
    for e, g in zip(_grads(expected, args), _grads(fused(*args, **kwargs), args)):
        torch.testing.assert_close(g, e, **TOL)
    with torch.no_grad():
        got = fused(*args, mask=_mask(), **kwargs)
        expected = reference(*args, mask=_mask(), **kwargs)
    for e, g in zip(expected, got):
        assert not g.requires_grad
        torch.testing.assert_close(g, e, **TOL)


def test_lstm_forward_kernel_is_one_functional_step():
    """One launch of the LSTM forward kernel equals ``functional.lstm_pointwise``."""
    from rnnlab.nn.fused import kernels as K

    xw, h0, c0, w_hh, b_hh = (t.detach() for t in _inputs(4, True))
    hw = h0 @ w_hh.t()  # (B, 4H)
    h_ref, c_ref, gates_ref = RF.lstm_pointwise(xw[0] + hw + b_hh, c0)
    h, c, out, gates, tanh_c = (torch.empty(B, n, device=DEVICE) for n in (H, H, H, 4 * H, H))
    K.launch(
        K.lstm_forward_kernel, B, H, xw[0], hw, b_hh, h0, c0, hw, h, c, out, h, gates, tanh_c,
        block=BLOCK, HAS_BIAS=True, HAS_MASK=False, WRITE_MM=False,
    )  # fmt: skip
    torch.testing.assert_close(h, h_ref, **TOL)
    torch.testing.assert_close(c, c_ref, **TOL)
    torch.testing.assert_close(out, h_ref, **TOL)
    torch.testing.assert_close(gates, torch.cat(gates_ref, dim=1), **TOL)
    torch.testing.assert_close(tanh_c, torch.tanh(c_ref), **TOL)


def test_gru_forward_kernel_is_one_functional_step():
    """One launch of the GRU forward kernel equals ``functional.gru_recurrent_step``."""
    from rnnlab.nn.fused import kernels as K

    xw, h0, w_hh, b_hh = (t.detach() for t in _inputs(3, False))
    hw = h0 @ w_hh.t()  # (B, 3H), the kernel adds b_hh itself
    h, out, rzn, hn = (torch.empty(B, n, device=DEVICE) for n in (H, H, 3 * H, H))
    K.launch(
        K.gru_forward_kernel, B, H, xw[0], hw, b_hh, h0, hw, h, out, h, rzn, hn,
        block=BLOCK, HAS_BIAS=True, HAS_MASK=False, WRITE_MM=False,
    )  # fmt: skip
    torch.testing.assert_close(h, RF.gru_recurrent_step(xw[0], h0, w_hh, b_hh), **TOL)
    torch.testing.assert_close(hn, hw[:, 2 * H :] + b_hh[2 * H :], **TOL)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_stays_close_and_keeps_dtype(dtype):
    """bf16 / fp16 inputs: outputs and gradients in that dtype, close to the float32 result
    (the states are carried in float32, so the error does not grow with T)."""
    xw, h0, c0, w_hh, b_hh = _inputs(4, True, dtype=dtype)
    out, h_T, c_T = _fused().lstm_scan_fused(xw, h0, c0, w_hh, b_hh, mask=_mask(), block=BLOCK)
    assert out.dtype == h_T.dtype == c_T.dtype == dtype
    as32 = [t.detach().float().requires_grad_() for t in (xw, h0, c0, w_hh, b_hh)]
    expected = scan.lstm_scan_reference(*as32, mask=_mask())
    for e, g in zip(expected, (out, h_T, c_T)):
        torch.testing.assert_close(g.float(), e, rtol=0.0, atol=3e-2)
    grads = _grads((out, h_T, c_T), (xw, h0, c0, w_hh, b_hh))
    for e, g in zip(_grads(expected, as32), grads):
        assert g.dtype == dtype
        torch.testing.assert_close(g.float(), e, rtol=0.0, atol=1e-1)
