"""The "Deep Learning from Scratch 2" layout (``rnnlab.nn.convert.dlfs2``).

The reference forward passes are the book's equations (``common/time_layers.py``:
``RNN``, ``LSTM`` with ``f, g, i, o = A[:, :H], ...``, ``GRU`` with the textbook update
gate and no bias, ``TimeBiLSTM``) in NumPy, in the book's layout, not from the converter.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.nn import GRU, LSTM, RNN
from rnnlab.nn.convert import from_dlfs2, to_dlfs2

N, T, D, H = 3, 6, 5, 4
TOL = 1e-10  # float64


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# ---- the book's layers, xs (N, T, D) ----------------------------------------------------


def time_rnn(xs, Wx, Wh, b):
    h = np.zeros((xs.shape[0], Wh.shape[0]))
    hs = []
    for t in range(xs.shape[1]):
        h = np.tanh(np.dot(h, Wh) + np.dot(xs[:, t, :], Wx) + b)
        hs.append(h)
    return np.stack(hs, 1), [h]


def time_lstm(xs, Wx, Wh, b):
    n = Wh.shape[0]
    h, c = np.zeros((xs.shape[0], n)), np.zeros((xs.shape[0], n))
    hs = []
    for t in range(xs.shape[1]):
        A = np.dot(xs[:, t, :], Wx) + np.dot(h, Wh) + b
        f, g, i, o = A[:, :n], A[:, n : 2 * n], A[:, 2 * n : 3 * n], A[:, 3 * n :]
        f, g, i, o = sigmoid(f), np.tanh(g), sigmoid(i), sigmoid(o)
        c = f * c + g * i
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, 1), [h, c]


def time_gru(xs, Wx, Wh):
    n = Wh.shape[0]
    Wxz, Wxr, Wxh = Wx[:, :n], Wx[:, n : 2 * n], Wx[:, 2 * n :]
    Whz, Whr, Whh = Wh[:, :n], Wh[:, n : 2 * n], Wh[:, 2 * n :]
    h = np.zeros((xs.shape[0], n))
    hs = []
    for t in range(xs.shape[1]):
        x = xs[:, t, :]
        z = sigmoid(np.dot(x, Wxz) + np.dot(h, Whz))
        r = sigmoid(np.dot(x, Wxr) + np.dot(h, Whr))
        h_hat = np.tanh(np.dot(x, Wxh) + np.dot(r * h, Whh))
        h = (1 - z) * h + z * h_hat
        hs.append(h)
    return np.stack(hs, 1), [h]


def time_bi(run, xs, params):
    """TimeBiLSTM: the second layer reads xs[:, ::-1]; outputs concatenated."""
    n = len(params) // 2
    o1, s1 = run(xs, *params[:n])
    o2, s2 = run(xs[:, ::-1], *params[n:])
    return np.concatenate((o1, o2[:, ::-1]), axis=2), [s1, s2]


def book_stack(run, xs, params, bidirectional):
    finals = []
    for p in params:
        if bidirectional:
            xs, s = time_bi(run, xs, p)
            finals += s
        else:
            xs, s = run(xs, *p)
            finals.append(s)
    return xs, finals


RUN = {"rnn": time_rnn, "lstm": time_lstm, "gru": time_gru}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def random_params(rng, cell, layers, bidirectional):
    G, Dn = GATES[cell], (2 if bidirectional else 1)
    out = []
    for k in range(layers):
        p = []
        for _ in range(Dn):
            p += [rng.normal(size=(D if k == 0 else Dn * H, G * H)), rng.normal(size=(H, G * H))]
            if cell != "gru":
                p.append(rng.normal(size=(G * H,)))
        out.append(p)
    return out


def _states(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, False), (2, True)])
def test_converted_layer_equals_the_books_equations(cell, layers, bidirectional):
    rng = np.random.default_rng(0)
    params = random_params(rng, cell, layers, bidirectional)
    xs = rng.normal(size=(N, T, D))
    expected, finals = book_stack(RUN[cell], xs, params, bidirectional)

    layer = from_dlfs2(params, cell, bidirectional=bidirectional, dtype=torch.float64)
    assert layer.batch_first and layer.num_layers == layers
    if cell == "gru":
        assert layer.variant == "original" and not layer.bias
    backends = ["scratch"] + ([] if cell == "gru" else ["native"])
    for backend in backends:
        layer.backend = backend
        out, state = layer(torch.from_numpy(xs))
        assert np.abs(out.detach().numpy() - expected).max() < TOL
        for j, s in enumerate(_states(state)):
            assert np.abs(s.detach().numpy() - np.stack([f[j] for f in finals])).max() < TOL


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_dlfs2_round_trip_is_exact(cell, bidirectional):
    rng = np.random.default_rng(1)
    params = random_params(rng, cell, 2, bidirectional)
    back = to_dlfs2(from_dlfs2(params, cell, bidirectional=bidirectional, dtype=torch.float64))
    for ours, theirs in zip(back, params, strict=True):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RNN(D, H, num_layers=2, batch_first=True),
        lambda: LSTM(D, H, num_layers=2, bidirectional=True, batch_first=True),
        lambda: GRU(D, H, num_layers=2, batch_first=True, variant="original", bias=False),
    ],
)
def test_rnnlab_to_dlfs2_gives_the_books_numbers(make):
    torch.manual_seed(0)
    layer = make().double()
    cell = type(layer).__name__.lower()
    xs = torch.randn(N, T, D, dtype=torch.float64)
    params = to_dlfs2(layer)
    expected, _ = book_stack(RUN[cell], xs.numpy(), params, layer.bidirectional)
    assert np.abs(layer(xs)[0].detach().numpy() - expected).max() < TOL
    again = from_dlfs2(params, cell, bidirectional=layer.bidirectional, dtype=torch.float64)
    assert (again(xs)[0] - layer(xs)[0]).abs().max() < TOL


def test_what_the_book_cannot_hold_is_refused():
    with pytest.raises(ValueError, match="variant='original'"):
        to_dlfs2(GRU(D, H))
    with pytest.raises(ValueError, match="no bias"):
        to_dlfs2(GRU(D, H, variant="original"))
    with pytest.raises(ValueError, match="tanh only"):
        to_dlfs2(RNN(D, H, nonlinearity="relu"))
    with pytest.raises(ValueError, match=r"expected 2 arrays \(Wx, Wh\)"):
        from_dlfs2([[np.zeros((D, 3 * H)), np.zeros((H, 3 * H)), np.zeros(3 * H)]], "gru")
    with pytest.raises(ValueError, match="expected layer 0 Wx with 2 dimensions"):
        from_dlfs2([[np.zeros(4 * H), np.zeros((H, 4 * H)), np.zeros(4 * H)]], "lstm")
