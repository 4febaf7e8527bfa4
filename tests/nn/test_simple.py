"""The seed-compatible teaching modules (issue 3, section 2) equal the fused layers
given rearranged weights, and follow the documented shapes and initialisation."""

from __future__ import annotations

import math

import pytest
import torch

import rnnlab
from rnnlab.nn import BiRNN, SimpleGRU, SimpleLSTM, SimpleRNN

F64 = torch.float64
B, T, D, H = 3, 5, 3, 4


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)


@pytest.mark.parametrize("backend", ["scratch", "auto"])
@pytest.mark.parametrize("cls", [SimpleRNN, BiRNN, SimpleLSTM, SimpleGRU])
def test_simple_module_equals_fused_layer(cls, backend):
    module = cls(D, H).double()
    with torch.no_grad():  # non-zero biases, so their placement is tested too
        for name, p in module.named_parameters():
            if name.split(".")[-1].startswith("b_"):
                p.uniform_(-0.5, 0.5)
    x = torch.randn(B, T, D, dtype=F64, requires_grad=True)
    layer = module.to_layer(backend=backend)
    out, state = module(x)
    layer_out, layer_state = layer(x)
    torch.testing.assert_close(out, layer_out, atol=1e-12, rtol=0)
    if cls is BiRNN:  # (h_forward, h_backward) against h_n (2, B, H)
        state, layer_state = torch.stack(state), (layer_state,)
    for s, e in zip(as_tuple(state), as_tuple(layer_state)):
        torch.testing.assert_close(s, e.reshape(s.shape), atol=1e-12, rtol=0)
    (g1,) = torch.autograd.grad(out.sum(), x)
    (g2,) = torch.autograd.grad(layer_out.sum(), x)
    torch.testing.assert_close(g1, g2, atol=1e-12, rtol=0)


def test_shapes_and_returns():
    x = torch.randn(B, T, D)
    out, h = SimpleRNN(D, H)(x)
    assert out.shape == (B, T, H) and h.shape == (B, H)
    out, (h_f, h_b) = BiRNN(D, H)(x)
    assert out.shape == (B, T, 2 * H) and h_f.shape == h_b.shape == (B, H)
    out, (h, c) = SimpleLSTM(D, H)(x)
    assert out.shape == (B, T, H) and h.shape == c.shape == (B, H)
    out, h = SimpleGRU(D, H)(x, torch.zeros(B, H))
    assert out.shape == (B, T, H) and h.shape == (B, H)
    assert torch.equal(out[:, -1], h)


def test_birnn_backward_half_reads_right_to_left():
    birnn = BiRNN(D, H).double()
    x = torch.randn(B, T, D, dtype=F64)
    out, (h_f, h_b) = birnn(x)
    torch.testing.assert_close(out[:, 0, H:], h_b)  # the backward RNN ends at t = 0
    torch.testing.assert_close(out[:, -1, :H], h_f)


def test_initialisation():
    H_big = 64
    lstm = SimpleLSTM(D, H_big, forget_bias=1.0)
    bound = 1 / math.sqrt(H_big)
    for name in ("W_f", "W_i", "W_g", "W_o"):
        w = getattr(lstm, name)
        assert w.shape == (H_big + D, H_big) and w.abs().max() <= bound and w.std() > bound / 3
    assert torch.equal(lstm.b_f, torch.ones(H_big))
    assert torch.equal(lstm.b_i, torch.zeros(H_big)) and torch.equal(lstm.b_o, torch.zeros(H_big))
    gru = SimpleGRU(D, H_big)
    assert all(torch.equal(b, torch.zeros(H_big)) for b in (gru.b_z, gru.b_r, gru.b_h))
    rnn = SimpleRNN(D, H_big)
    assert rnn.W_xh.shape == (D, H_big) and rnn.W_hh.abs().max() <= bound


def test_importable_from_rnnlab():
    assert rnnlab.SimpleLSTM is SimpleLSTM and rnnlab.BiRNN is BiRNN


def test_wrong_feature_size_names_shapes():
    with pytest.raises(ValueError, match=r"expected input of shape \(B, T, 3\), got \(2, 5, 4\)"):
        SimpleLSTM(3, 4)(torch.randn(2, 5, 4))
