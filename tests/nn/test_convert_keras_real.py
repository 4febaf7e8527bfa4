"""The Keras converter against real Keras 3 layers (on its torch backend), both ways.

Slow (importing Keras takes 5-15 s) and optional: ``pip install keras``, then
``pytest -m slow tests/nn/test_convert_keras_real.py``. The default suite checks the same
layouts against NumPy forward passes written from Keras's equations
(``test_convert_keras.py``); this file checks those equations are Keras's.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from rnnlab.nn import GRU, LSTM, RNN
from rnnlab.nn.convert import from_keras, to_keras

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

TOL = 1e-5  # float32: Keras and rnnlab round differently


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")  # before the first import of keras
    return pytest.importorskip("keras", reason="keras is not installed")


def _layers(keras):
    L = keras.layers
    return [
        ("lstm", lambda: L.LSTM(4, return_sequences=True), {}),
        ("gru", lambda: L.GRU(4, return_sequences=True), {}),
        ("gru", lambda: L.GRU(4, return_sequences=True, reset_after=False), {}),
        ("gru", lambda: L.GRU(4, return_sequences=True, use_bias=False), {}),
        ("rnn", lambda: L.SimpleRNN(4, return_sequences=True), {}),
        ("rnn", lambda: L.SimpleRNN(4, return_sequences=True, activation="relu"),
         {"nonlinearity": "relu"}),
        ("lstm", lambda: L.Bidirectional(L.LSTM(4, return_sequences=True)),
         {"bidirectional": True}),
        ("gru", lambda: L.Bidirectional(L.GRU(4, return_sequences=True)),
         {"bidirectional": True}),
    ]  # fmt: skip


def test_keras_layers_load_into_rnnlab(keras):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 5)).astype("float32")  # (B, T, D)
    for cell, make, opts in _layers(keras):
        layer = make()
        layer(x)  # builds the weights
        layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
        expected = keras.ops.convert_to_numpy(layer(x))
        ours = from_keras([layer.get_weights()], cell, **opts)
        got = ours(torch.from_numpy(x))[0].detach().numpy()
        assert np.abs(got - expected).max() < TOL, (cell, opts)


@pytest.mark.parametrize("make", [
    lambda k: (LSTM(5, 4, batch_first=True), k.layers.LSTM(4, return_sequences=True)),
    lambda k: (GRU(5, 4, batch_first=True), k.layers.GRU(4, return_sequences=True)),
    lambda k: (GRU(5, 4, batch_first=True, variant="original"),
               k.layers.GRU(4, return_sequences=True, reset_after=False)),
    lambda k: (RNN(5, 4, batch_first=True, bidirectional=True),
               k.layers.Bidirectional(k.layers.SimpleRNN(4, return_sequences=True))),
])  # fmt: skip
def test_rnnlab_layers_load_into_keras(keras, make):
    torch.manual_seed(0)
    ours, theirs = make(keras)
    x = torch.randn(3, 7, 5)
    theirs(x.numpy())
    theirs.set_weights(to_keras(ours)[0])
    expected = keras.ops.convert_to_numpy(theirs(x.numpy()))
    assert np.abs(ours(x)[0].detach().numpy() - expected).max() < TOL
