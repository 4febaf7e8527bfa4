"""Keras layout (``rnnlab.nn.convert.keras``): parity with Keras's equations, round trips.

The reference forward passes below are written from Keras's own cell code
(``keras/src/layers/rnn/{simple_rnn,lstm,gru}.py``) in NumPy, in Keras's layout
(x @ kernel, gates i f c o and z r h, one bias or GRU's (2, 3H)), not from the converter.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.nn import GRU, LSTM, RNN
from rnnlab.nn.convert import from_keras, to_keras

B, T, D, H = 3, 7, 5, 4
TOL = 1e-10  # float64 throughout


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# ---- Keras's forward passes, batch-major x (B, T, D) ----------------------------------


def keras_simple_rnn(x, kernel, recurrent_kernel, bias=None, activation=np.tanh):
    h = np.zeros((x.shape[0], recurrent_kernel.shape[0]))
    outs = []
    for t in range(x.shape[1]):
        h = activation(x[:, t] @ kernel + (0 if bias is None else bias) + h @ recurrent_kernel)
        outs.append(h)
    return np.stack(outs, 1), [h]


def keras_lstm(x, kernel, recurrent_kernel, bias=None):
    n = recurrent_kernel.shape[0]
    h, c = np.zeros((x.shape[0], n)), np.zeros((x.shape[0], n))
    outs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent_kernel + (0 if bias is None else bias)
        i, f, cc, o = (z[:, k * n : (k + 1) * n] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(cc)
        h = sigmoid(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1), [h, c]


def keras_gru(x, kernel, recurrent_kernel, bias=None, reset_after=True):
    n = recurrent_kernel.shape[0]
    if bias is None:
        b_in, b_rec = np.zeros(3 * n), np.zeros(3 * n)
    elif reset_after:
        b_in, b_rec = bias[0], bias[1]
    else:
        b_in, b_rec = bias, np.zeros(3 * n)
    h = np.zeros((x.shape[0], n))
    outs = []
    for t in range(x.shape[1]):
        xz, xr, xh = np.split(x[:, t] @ kernel + b_in, 3, axis=1)
        if reset_after:
            rz, rr, rh = np.split(h @ recurrent_kernel + b_rec, 3, axis=1)
            z, r = sigmoid(xz + rz), sigmoid(xr + rr)
            hh = np.tanh(xh + r * rh)
        else:
            z = sigmoid(xz + h @ recurrent_kernel[:, :n])
            r = sigmoid(xr + h @ recurrent_kernel[:, n : 2 * n])
            hh = np.tanh(xh + (r * h) @ recurrent_kernel[:, 2 * n :])
        h = z * h + (1 - z) * hh
        outs.append(h)
    return np.stack(outs, 1), [h]


def keras_stack(run, x, weights, bidirectional):
    """Stacked layers (each maybe a Bidirectional wrapper, merge_mode="concat");
    returns the top output and every final state, ordered (layer, direction)."""
    finals = []
    for arrays in weights:
        if bidirectional:
            n = len(arrays) // 2
            y1, s1 = run(x, *arrays[:n])
            y2, s2 = run(x[:, ::-1], *arrays[n:])
            x = np.concatenate([y1, y2[:, ::-1]], axis=2)
            finals += [s1, s2]
        else:
            x, s = run(x, *arrays)
            finals.append(s)
    return x, finals


def random_keras_weights(rng, cell, layers, bidirectional, reset_after=True, use_bias=True):
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    Dn = 2 if bidirectional else 1
    out = []
    for k in range(layers):
        d_in = D if k == 0 else Dn * H
        arrays = []
        for _ in range(Dn):
            arrays += [rng.normal(size=(d_in, G * H)), rng.normal(size=(H, G * H)) * 0.5]
            if use_bias:
                shape = (2, G * H) if cell == "gru" and reset_after else (G * H,)
                arrays.append(rng.normal(size=shape))
        out.append(arrays)
    return out


CASES = [
    ("rnn", {}, keras_simple_rnn),
    ("lstm", {}, keras_lstm),
    ("gru", {"reset_after": True}, keras_gru),
    ("gru", {"reset_after": False}, lambda x, k, r, b=None: keras_gru(x, k, r, b, False)),
]


def _states(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("cell,opts,run", CASES, ids=["rnn", "lstm", "gru-ra", "gru-cho"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, False), (2, True)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_converted_layer_equals_keras_equations(cell, opts, run, layers, bidirectional, use_bias):
    rng = np.random.default_rng(0)
    reset_after = opts.get("reset_after", True)
    weights = random_keras_weights(rng, cell, layers, bidirectional, reset_after, use_bias)
    x = rng.normal(size=(B, T, D))
    expected, finals = keras_stack(run, x, weights, bidirectional)

    layer = from_keras(weights, cell, bidirectional=bidirectional, dtype=torch.float64, **opts)
    assert layer.batch_first and layer.num_layers == layers and layer.bias == use_bias
    assert getattr(layer, "variant", "torch") == ("torch" if reset_after else "original")
    backends = ["scratch"] + (["native"] if reset_after else [])
    for backend in backends:
        layer.backend = backend
        out, state = layer(torch.from_numpy(x))
        assert np.abs(out.detach().numpy() - expected).max() < TOL
        for j, s in enumerate(_states(state)):  # h_n (and c_n): (L*D, B, H)
            ref = np.stack([f[j] for f in finals])
            assert np.abs(s.detach().numpy() - ref).max() < TOL


def test_relu_simple_rnn():
    rng = np.random.default_rng(1)
    weights = random_keras_weights(rng, "rnn", 1, False)
    x = rng.normal(size=(B, T, D))
    expected, _ = keras_simple_rnn(x, *weights[0], activation=lambda a: np.maximum(a, 0))
    layer = from_keras(weights, "rnn", nonlinearity="relu", dtype=torch.float64)
    assert np.abs(layer(torch.from_numpy(x))[0].detach().numpy() - expected).max() < TOL


@pytest.mark.parametrize("cell,opts", [("rnn", {}), ("lstm", {}), ("gru", {"reset_after": True}),
                                       ("gru", {"reset_after": False})])  # fmt: skip
@pytest.mark.parametrize("bidirectional", [False, True])
def test_keras_round_trip_is_exact(cell, opts, bidirectional):
    rng = np.random.default_rng(2)
    weights = random_keras_weights(rng, cell, 2, bidirectional, opts.get("reset_after", True))
    layer = from_keras(weights, cell, bidirectional=bidirectional, dtype=torch.float64)
    back = to_keras(layer)
    assert len(back) == len(weights)
    for ours, theirs in zip(back, weights):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RNN(D, H, num_layers=2, bidirectional=True, batch_first=True),
        lambda: LSTM(D, H, num_layers=2, batch_first=True),
        lambda: GRU(D, H, bidirectional=True, batch_first=True),
        lambda: GRU(D, H, num_layers=2, batch_first=True, variant="original"),
    ],
)
def test_rnnlab_to_keras_and_back_keeps_the_function(make):
    torch.manual_seed(0)
    layer = make().double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    cell = type(layer).__name__.lower()
    weights = to_keras(layer)
    again = from_keras(weights, cell, bidirectional=layer.bidirectional, dtype=torch.float64)
    assert getattr(again, "variant", "torch") == getattr(layer, "variant", "torch")
    assert (again(x)[0] - layer(x)[0]).abs().max() < TOL
    # ... and the Keras equations on the exported weights give the same numbers
    run = {"rnn": keras_simple_rnn, "lstm": keras_lstm}.get(cell) or (
        lambda *a: keras_gru(*a, reset_after=layer.variant == "torch")
    )
    expected, _ = keras_stack(run, x.numpy(), weights, layer.bidirectional)
    assert np.abs(layer(x)[0].detach().numpy() - expected).max() < TOL


def test_clear_errors():
    rng = np.random.default_rng(3)
    lstm = random_keras_weights(rng, "lstm", 1, False)
    with pytest.raises(ValueError, match="expected six arrays"):
        from_keras(lstm, "lstm", bidirectional=True)
    with pytest.raises(ValueError, match="cell must be one of"):
        from_keras(lstm, "transformer")
    mixed = lstm + [[rng.normal(size=(H, 4 * 6)), rng.normal(size=(6, 24)), np.zeros(24)]]
    with pytest.raises(ValueError, match="layer 1: expected input weights .* one layer at a time"):
        from_keras(mixed, "lstm")
    with pytest.raises(ValueError, match="proj_size"):
        to_keras(LSTM(D, H, proj_size=2))
    gru = random_keras_weights(rng, "gru", 1, False, reset_after=True)
    with pytest.raises(ValueError, match=r"bias \(GRU with reset_after=False\) with 1 dim"):
        from_keras(gru, "gru", reset_after=False)


def test_torch_nn_layers_convert_too():
    torch.manual_seed(0)
    module = torch.nn.GRU(D, H, num_layers=2, bidirectional=True)
    ours = GRU.from_torch(module)
    for a, b in zip(sum(to_keras(module), []), sum(to_keras(ours), [])):
        assert np.array_equal(a, b)
