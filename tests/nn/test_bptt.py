"""The hand-written BPTT scans (rnnlab.nn.bptt) equal the reference autograd loops."""

from __future__ import annotations

import pytest
import torch

from rnnlab.nn import bptt, scan

T, B, H = 6, 4, 5

# name -> (reference, hand BPTT, inference-only forward, gates G, has a cell state, kwargs)
CASES = {
    "lstm": (scan.lstm_scan_reference, bptt.lstm_scan_bptt, bptt.lstm_scan_forward, 4, True, {}),
    "gru": (scan.gru_scan_reference, bptt.gru_scan_bptt, bptt.gru_scan_forward, 3, False, {}),
    "gru-original": (
        scan.gru_scan_reference,
        bptt.gru_scan_bptt,
        bptt.gru_scan_forward,
        3,
        False,
        {"variant": "original"},
    ),
    "rnn-tanh": (scan.rnn_scan_reference, bptt.rnn_scan_bptt, bptt.rnn_scan_forward, 1, False, {}),
    "rnn-relu": (
        scan.rnn_scan_reference,
        bptt.rnn_scan_bptt,
        bptt.rnn_scan_forward,
        1,
        False,
        {"nonlinearity": "relu"},
    ),
}


def _inputs(G: int, cell_state: bool, bias: bool = True, dtype=torch.float64, T=T, B=B, H=H):
    """xw (T, B, G*H), h0 (B, H), [c0 (B, H)], w_hh (G*H, H), b_hh (G*H,) or None."""
    gen = torch.Generator().manual_seed(1)

    def rand(*shape, scale=1.0):
        return (torch.randn(*shape, generator=gen, dtype=dtype) * scale).requires_grad_()

    states = [rand(B, H)] + ([rand(B, H)] if cell_state else [])
    b_hh = rand(G * H, scale=0.5) if bias else None
    return [rand(T, B, G * H), *states, rand(G * H, H, scale=0.5), b_hh]


def _mask(lengths=(6, 3, 1, 5)) -> torch.Tensor:
    """(T, B) bool, True at the real steps of left-aligned sequences of these lengths."""
    return torch.arange(max(lengths)).unsqueeze(1) < torch.tensor(lengths)  # (T, B)


def _call(fn, args, mask, kwargs):
    *tensors, w_hh, b_hh = args
    if len(tensors) == 3:  # LSTM: xw, h0, c0
        return fn(*tensors, w_hh, b_hh, mask=mask, **kwargs)
    return fn(*tensors, w_hh, b_hh, mask=mask, **kwargs)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("name", list(CASES))
def test_bptt_equals_reference_float64(name, masked, bias):
    reference, fast, _, G, cell_state, kwargs = CASES[name]
    args = _inputs(G, cell_state, bias)
    mask = _mask() if masked else None
    wrt = [a for a in args if a is not None]
    results = []
    for fn in (reference, fast):
        outputs = _call(fn, args, mask, kwargs)
        gen = torch.Generator().manual_seed(2)
        seeds = [torch.randn(o.shape, generator=gen, dtype=o.dtype) for o in outputs]
        grads = torch.autograd.grad(outputs, wrt, seeds)
        results.append((outputs, grads))
    (ref_out, ref_grads), (out, grads) = results
    for a, b in zip(ref_out, out):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-10)
    for a, b in zip(ref_grads, grads):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-10)
    if masked:  # outputs are zero at padded steps
        assert (out[0][~mask] == 0).all()


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("name", list(CASES))
def test_inference_forward_equals_reference(name, masked):
    reference, _, forward, G, cell_state, kwargs = CASES[name]
    args = [a.detach() if a is not None else None for a in _inputs(G, cell_state)]
    mask = _mask() if masked else None
    for a, b in zip(_call(reference, args, mask, kwargs), _call(forward, args, mask, kwargs)):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-12)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name, masked):
    _, fast, _, G, cell_state, kwargs = CASES[name]
    args = _inputs(G, cell_state, T=3, B=2, H=2)  # tiny: gradcheck perturbs every entry
    mask = _mask((3, 1)) if masked else None
    assert torch.autograd.gradcheck(lambda *a: _call(fast, list(a), mask, kwargs), args)


def test_only_bptt_inputs_needing_grad():
    """Frozen weights (needs_input_grad False) skip dW and still give the right dxw."""
    xw, h0, c0, w_hh, b_hh = _inputs(4, True)
    w_hh.requires_grad_(False)
    out, _, _ = bptt.lstm_scan_bptt(xw, h0, c0, w_hh, b_hh)
    (g_fast,) = torch.autograd.grad(out.sum(), [xw])
    out, _, _ = scan.lstm_scan_reference(xw, h0, c0, w_hh, b_hh)
    (g_ref,) = torch.autograd.grad(out.sum(), [xw])
    torch.testing.assert_close(g_fast, g_ref, rtol=0, atol=1e-10)


def test_float32_close_to_reference():
    reference, fast, _, G, cell_state, kwargs = CASES["lstm"]
    args = _inputs(G, cell_state, dtype=torch.float32)
    wrt = [a for a in args if a is not None]
    ref = torch.autograd.grad(_call(reference, args, _mask(), kwargs)[0].sum(), wrt)
    got = torch.autograd.grad(_call(fast, args, _mask(), kwargs)[0].sum(), wrt)
    for a, b in zip(ref, got):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_dispatch_picks_fast_paths_and_keeps_results():
    """scan.* with grad -> hand BPTT; under no_grad -> forward only; with w_hr -> reference."""
    xw, h0, c0, w_hh, b_hh = _inputs(4, True)
    out, _, _ = scan.lstm_scan(xw, h0, c0, w_hh, b_hh)
    assert type(out.grad_fn).__name__ == "_LSTMScanBackward"
    with torch.no_grad():
        out_ng, _, _ = scan.lstm_scan(xw, h0, c0, w_hh, b_hh)
    torch.testing.assert_close(out_ng, out.detach(), rtol=0, atol=1e-12)
    P = 3
    w_hh_p = torch.randn(4 * H, P, dtype=torch.float64)
    w_hr = torch.randn(P, H, dtype=torch.float64, requires_grad=True)
    out_p, h_p, _ = scan.lstm_scan(xw, h0[:, :P], c0, w_hh_p, b_hh, w_hr)
    assert out_p.shape == (T, B, P) and h_p.shape == (B, P)
    assert type(out_p.grad_fn).__name__ != "_LSTMScanBackward"


def test_inputs_are_not_modified():
    for name, (_, fast, forward, G, cell_state, kwargs) in CASES.items():
        args = _inputs(G, cell_state)
        before = [a.detach().clone() for a in args if a is not None]
        outputs = _call(fast, args, _mask(), kwargs)
        torch.autograd.grad(outputs[0].sum(), [a for a in args if a is not None])
        with torch.no_grad():
            _call(forward, args, None, kwargs)
        for a, b in zip(before, [a for a in args if a is not None]):
            assert torch.equal(a, b), name
