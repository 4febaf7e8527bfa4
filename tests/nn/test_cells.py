"""Cells equal torch.nn's cells, and each layer equals an explicit loop over its cell."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnlab.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

F64 = torch.float64
B, D, H = 3, 3, 4

CELLS = {
    "rnn_tanh": (RNNCell, nn.RNNCell, {"nonlinearity": "tanh"}),
    "rnn_relu": (RNNCell, nn.RNNCell, {"nonlinearity": "relu"}),
    "lstm": (LSTMCell, nn.LSTMCell, {}),
    "gru": (GRUCell, nn.GRUCell, {}),
}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("mode", list(CELLS))
def test_cell_equals_torch_cell(mode, bias):
    ours_cls, torch_cls, kw = CELLS[mode]
    reference = torch_cls(D, H, bias, dtype=F64, **kw)
    ours = ours_cls.from_torch(reference)
    assert list(ours.state_dict()) == list(reference.state_dict())
    x = torch.randn(B, D, dtype=F64, requires_grad=True)
    h = torch.randn(B, H, dtype=F64, requires_grad=True)
    hx = (h, torch.randn(B, H, dtype=F64)) if mode == "lstm" else h
    for state in (None, hx):
        e, g = reference(x, state), ours(x, state)
        e, g = (e if isinstance(e, tuple) else (e,)), (g if isinstance(g, tuple) else (g,))
        for a, b in zip(e, g):
            torch.testing.assert_close(b, a, atol=1e-12, rtol=0)
        ge = torch.autograd.grad(sum(t.sum() for t in e), [x, *reference.parameters()])
        gg = torch.autograd.grad(sum(t.sum() for t in g), [x, *ours.parameters()])
        for a, b in zip(ge, gg):
            torch.testing.assert_close(b, a, atol=1e-12, rtol=0)
    back = ours.to_torch()
    assert type(back) is torch_cls and torch.equal(back.weight_hh, ours.weight_hh)


def test_unbatched_cell_input():
    cell = LSTMCell(D, H)
    h, c = cell(torch.randn(D))
    assert h.shape == c.shape == (H,)


def test_cell_forget_bias_and_gru_variant():
    cell = LSTMCell(D, H, forget_bias=2.0)
    assert torch.equal(cell.bias_ih[H : 2 * H], torch.full((H,), 2.0))
    assert torch.equal(cell.bias_hh[H : 2 * H], torch.zeros(H))
    gru = GRUCell(D, H, variant="original")
    with pytest.raises(ValueError, match="variant"):
        gru.to_torch()


def cells_of(layer, depth, direction):
    """The cell of (depth, direction) of ``layer``, sharing its weights."""
    sfx = f"_l{depth}" + ("_reverse" if direction else "")
    w_ih = getattr(layer, "weight_ih" + sfx)
    if isinstance(layer, LSTM):
        cell = LSTMCell(w_ih.shape[1], layer.hidden_size, layer.bias, dtype=F64)
    elif isinstance(layer, GRU):
        cell = GRUCell(w_ih.shape[1], layer.hidden_size, layer.bias, layer.variant, dtype=F64)
    else:
        cell = RNNCell(w_ih.shape[1], layer.hidden_size, layer.bias, layer.nonlinearity, dtype=F64)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        setattr(cell, name, getattr(layer, name + sfx))
    return cell


def explicit_loop(layer, x):
    """One unpadded sequence x (T, D) through ``layer`` by a plain loop over its cells.
    Returns (outputs (T, D*H), finals: list of (L*D, H))."""
    lstm = isinstance(layer, LSTM)
    finals = []
    for depth in range(layer.num_layers):
        outs = []
        for direction in range(layer.num_directions):
            cell = cells_of(layer, depth, direction)
            state = (torch.zeros(1, layer.hidden_size, dtype=F64),) * (2 if lstm else 1)
            steps = range(x.shape[0] - 1, -1, -1) if direction else range(x.shape[0])
            out = [None] * x.shape[0]
            for t in steps:
                state = cell(x[t : t + 1], state if lstm else state[0])
                state = state if lstm else (state,)
                out[t] = state[0][0]
            outs.append(torch.stack(out))
            finals.append([s[0] for s in state])
        x = torch.cat(outs, dim=1)
    return x, [torch.stack(f) for f in zip(*finals)]


@pytest.mark.parametrize("backend", ["scratch", "native"])
@pytest.mark.parametrize(
    "layer_cls,kw",
    [(RNN, {"nonlinearity": "relu"}), (LSTM, {}), (GRU, {}), (GRU, {"variant": "original"})],
)
def test_layer_equals_explicit_loop_over_cell(layer_cls, kw, backend):
    if kw.get("variant") == "original" and backend == "native":
        pytest.skip("the original GRU is scratch-only")
    layer = layer_cls(
        D, H, 2, bidirectional=True, batch_first=True, backend=backend, dtype=F64, **kw
    )
    x = torch.randn(B, 5, D, dtype=F64)
    lengths = [5, 2, 4]
    out, state = layer(x, lengths=lengths)
    state = state if isinstance(state, tuple) else (state,)
    for b, n in enumerate(lengths):
        expected_out, expected_finals = explicit_loop(layer, x[b, :n])
        torch.testing.assert_close(out[b, :n], expected_out, atol=1e-12, rtol=0)
        assert torch.all(out[b, n:] == 0)
        for s, e in zip(state, expected_finals):
            torch.testing.assert_close(s[:, b], e, atol=1e-12, rtol=0)
