"""LayerNormLSTM: equals an explicit loop written out here, handles lengths, and has the
invariances layer normalisation promises."""

from __future__ import annotations

import pytest
import torch

from rnnlab.nn import LayerNormLSTM

F64 = torch.float64
B, T, D, H = 3, 5, 3, 4


def ln(a, gain, bias, eps):
    mu = a.mean(-1, keepdim=True)
    var = ((a - mu) ** 2).mean(-1, keepdim=True)
    return (a - mu) / torch.sqrt(var + eps) * gain + bias


def explicit(layer, x):
    """x (T, B, D) through ``layer`` by hand, without rnnlab.nn.functional."""
    eps = layer.eps
    h_n, c_n = [], []
    for k in range(layer.num_layers):
        p = {n: getattr(layer, f"{n}_l{k}") for n in layer._NAMES}
        h = torch.zeros(x.shape[1], H, dtype=F64)
        c = torch.zeros_like(h)
        outs = []
        for t in range(x.shape[0]):
            a = ln(x[t] @ p["weight_ih"].T, p["ln_ih_weight"], p["ln_ih_bias"], eps)
            a = a + ln(h @ p["weight_hh"].T, p["ln_hh_weight"], p["ln_hh_bias"], eps) + p["bias"]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(ln(c, p["ln_c_weight"], p["ln_c_bias"], eps))
            outs.append(h)
        x = torch.stack(outs)
        h_n.append(h)
        c_n.append(c)
    return x, torch.stack(h_n), torch.stack(c_n)


def randomise(layer):
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return layer


def test_equals_explicit_loop():
    layer = randomise(LayerNormLSTM(D, H, num_layers=2, dtype=F64))
    x = torch.randn(T, B, D, dtype=F64)
    out, (h, c) = layer(x)
    e_out, e_h, e_c = explicit(layer, x)
    for a, b in ((out, e_out), (h, e_h), (c, e_c)):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    assert layer.last_backend == "scratch" and "normalisation" in layer.backend_reason


def test_lengths_batch_first_and_each_sequence_alone():
    layer = randomise(LayerNormLSTM(D, H, num_layers=2, batch_first=True, dtype=F64))
    lengths = [5, 2, 4]
    x = torch.randn(B, T, D, dtype=F64)
    out, (h, c) = layer(x, lengths=lengths)
    assert out.shape == (B, T, H) and h.shape == c.shape == (2, B, H)
    for b, n in enumerate(lengths):
        a_out, (a_h, a_c) = layer(x[b : b + 1, :n])
        torch.testing.assert_close(out[b : b + 1, :n], a_out, atol=1e-12, rtol=0)
        assert torch.all(out[b, n:] == 0)
        torch.testing.assert_close(h[:, b : b + 1], a_h, atol=1e-12, rtol=0)
        torch.testing.assert_close(c[:, b : b + 1], a_c, atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", ["weight_ih_l0", "weight_hh_l0", "weight_hh_l1"])
def test_invariant_to_rescaling_weights(name):
    """LN(s a) = LN(a) for s > 0: rescaling a weight matrix changes nothing (eps -> 0)."""
    layer = randomise(LayerNormLSTM(D, H, num_layers=2, eps=1e-14, dtype=F64))
    x = torch.randn(T, B, D, dtype=F64)
    h0 = (torch.randn(2, B, H, dtype=F64), torch.randn(2, B, H, dtype=F64))
    before = layer(x, h0)[0]
    with torch.no_grad():
        getattr(layer, name).mul_(7.5)
    torch.testing.assert_close(layer(x, h0)[0], before, atol=1e-9, rtol=0)


def test_invariant_to_input_scale_and_shift_per_example():
    """LN over features of x W^T is invariant to scaling each input vector (first layer)."""
    layer = randomise(LayerNormLSTM(D, H, eps=1e-14, dtype=F64))
    x = torch.randn(T, B, D, dtype=F64)
    scale = torch.rand(T, B, 1, dtype=F64) + 0.5
    torch.testing.assert_close(layer(x * scale)[0], layer(x)[0], atol=1e-9, rtol=0)


def test_initialisation_and_forget_bias():
    layer = LayerNormLSTM(D, H, num_layers=2, forget_bias=1.0)
    assert torch.equal(layer.ln_c_weight_l1, torch.ones(H))
    assert torch.equal(layer.bias_l0[H : 2 * H], torch.ones(H))
    assert torch.equal(layer.bias_l0[:H], torch.zeros(H))
    assert layer.weight_hh_l1.abs().max() <= 0.5


def test_state_shape_error():
    layer = LayerNormLSTM(D, H)
    bad = (torch.zeros(1, B, H + 1), torch.zeros(1, B, H))
    with pytest.raises(ValueError, match=r"expected hx\[0\] \(h_0\) of shape \(1, 3, 4\)"):
        layer(torch.randn(T, B, D), bad)
