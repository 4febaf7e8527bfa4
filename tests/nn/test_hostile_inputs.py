"""Hostile inputs to the recurrent layers and cells (issue 13): empty sequences, sizes that
are not positive integers, non-finite biases and probabilities. Each is a clear error
naming what was expected and what arrived, and both execution paths agree."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnnlab.nn import (
    GRU,
    LSTM,
    RNN,
    BiRNN,
    EmbeddingDropout,
    GRUCell,
    LayerNormLSTM,
    LockedDropout,
    LSTMCell,
    RNNCell,
    SimpleGRU,
    SimpleLSTM,
    SimpleRNN,
)

LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
T0 = r"expected input with at least one time step \(T >= 1\), got T = 0"


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("backend", ["scratch", "native"])
@pytest.mark.parametrize("grad", [True, False])
def test_empty_sequence_is_refused_by_both_paths(name, backend, grad):
    layer = LAYERS[name](3, 4, backend=backend)
    with pytest.raises(RuntimeError, match="sequence length to be larger than 0"):
        getattr(nn, name.upper())(3, 4)(torch.zeros(0, 2, 3))  # torch.nn refuses it too
    with torch.set_grad_enabled(grad):
        with pytest.raises(ValueError, match=T0 + r" \(input of shape \(0, 2, 3\)\)"):
            layer(torch.zeros(0, 2, 3))
        with pytest.raises(ValueError, match=T0 + r" \(input of shape \(0, 3\)\)"):
            layer(torch.zeros(0, 3))  # unbatched


def test_empty_sequence_batch_first_and_other_modules():
    with pytest.raises(ValueError, match=T0 + r" \(input of shape \(2, 0, 3\)\)"):
        GRU(3, 4, batch_first=True)(torch.zeros(2, 0, 3))
    with pytest.raises(ValueError, match=T0):
        LayerNormLSTM(3, 4)(torch.zeros(0, 2, 3))
    for module in (SimpleRNN(3, 4), BiRNN(3, 4), SimpleLSTM(3, 4), SimpleGRU(3, 4)):
        with pytest.raises(ValueError, match=T0 + r" \(input of shape \(2, 0, 3\)\)"):
            module(torch.zeros(2, 0, 3))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_empty_batch_with_lengths_agrees_across_paths(name):
    outs = {}
    for backend in ("scratch", "native"):
        layer = LAYERS[name](3, 4, backend=backend)
        out, _ = layer(torch.zeros(5, 0, 3), lengths=[])
        outs[backend] = out
    assert outs["scratch"].shape == outs["native"].shape == (5, 0, 4)


SIZE_BUILDERS = {
    "RNN": lambda i, h: RNN(i, h),
    "LSTM": lambda i, h: LSTM(i, h),
    "GRU": lambda i, h: GRU(i, h),
    "LayerNormLSTM": lambda i, h: LayerNormLSTM(i, h),
    "RNNCell": lambda i, h: RNNCell(i, h),
    "LSTMCell": lambda i, h: LSTMCell(i, h),
    "GRUCell": lambda i, h: GRUCell(i, h),
    "SimpleRNN": lambda i, h: SimpleRNN(i, h),
    "BiRNN": lambda i, h: BiRNN(i, h),
    "SimpleLSTM": lambda i, h: SimpleLSTM(i, h),
    "SimpleGRU": lambda i, h: SimpleGRU(i, h),
}


@pytest.mark.parametrize("module", sorted(SIZE_BUILDERS))
@pytest.mark.parametrize(
    "value,error,match",
    [
        (2.5, TypeError, r"expected hidden_size to be an integer >= 1, got float 2.5"),
        (4.0, TypeError, r"expected hidden_size to be an integer >= 1, got float 4.0"),
        (math.nan, TypeError, r"got float nan"),
        ("4", TypeError, r"got str '4'"),
        (True, TypeError, r"got bool True"),
        (None, TypeError, r"got NoneType None"),
        (0, ValueError, r"expected hidden_size >= 1, got 0"),
        (-3, ValueError, r"expected hidden_size >= 1, got -3"),
    ],
)
def test_hidden_size_must_be_a_positive_integer(module, value, error, match):
    with pytest.raises(error, match=match):
        SIZE_BUILDERS[module](3, value)


@pytest.mark.parametrize("module", sorted(SIZE_BUILDERS))
def test_input_size_must_be_a_positive_integer(module):
    with pytest.raises(TypeError, match=r"expected input_size to be an integer >= 1, got float"):
        SIZE_BUILDERS[module](3.5, 4)
    with pytest.raises(ValueError, match=r"expected input_size >= 1, got 0"):
        SIZE_BUILDERS[module](0, 4)


@pytest.mark.parametrize(
    "build,error,match",
    [
        (lambda: LSTM(3, 4, num_layers=1.5), TypeError, r"num_layers to be an integer >= 1"),
        (lambda: GRU(3, 4, num_layers=0), ValueError, r"expected num_layers >= 1, got 0"),
        (lambda: LSTM(3, 4, proj_size=2.0), TypeError, r"proj_size to be an integer >= 0"),
        (lambda: LSTM(3, 4, proj_size=-1), ValueError, r"expected proj_size >= 0, got -1"),
        (lambda: LayerNormLSTM(3, 4, num_layers=-2), ValueError, r"num_layers >= 1, got -2"),
        (lambda: LSTM(3, 4, dropout=math.nan), ValueError, r"dropout in \[0, 1\], got nan"),
        (lambda: LSTM(3, 4, dropout=math.inf), ValueError, r"dropout in \[0, 1\], got inf"),
        (lambda: GRU(3, 4, dropout="0.1"), TypeError, r"dropout to be a number.*got str"),
        (lambda: RNN(3, 4, dropout=None), TypeError, r"dropout to be a number .* got NoneType"),
        (lambda: RNN(3, 4, weight_drop=math.nan), ValueError, r"weight_drop in \[0, 1\], got nan"),
        (lambda: LSTM(3, 4, weight_drop=-math.inf), ValueError, r"weight_drop in \[0, 1\]"),
        (lambda: GRU(3, 4, weight_drop=True), TypeError, r"weight_drop to be a number.*bool"),
        (lambda: LayerNormLSTM(3, 4, dropout=math.nan), ValueError, r"got nan"),
        (lambda: LayerNormLSTM(3, 4, eps=0.0), ValueError, r"expected eps > 0"),
        (lambda: LayerNormLSTM(3, 4, eps=math.nan), ValueError, r"eps to be a finite number"),
        (lambda: LockedDropout(math.nan), ValueError, r"dropout probability in \[0, 1\), got nan"),
        (lambda: LockedDropout(1.0), ValueError, r"dropout probability in \[0, 1\), got 1.0"),
        (
            lambda: EmbeddingDropout(nn.Embedding(5, 2), math.inf),
            ValueError,
            r"dropout probability in \[0, 1\), got inf",
        ),
        (lambda: RNN(3, 4, bias="False"), TypeError, r"expected bias to be True or False"),
        (lambda: GRU(3, 4, batch_first=1), TypeError, r"batch_first to be True or False, got 1"),
        (lambda: LSTM(3, 4, bidirectional=None), TypeError, r"bidirectional to be True or False"),
        (lambda: LockedDropout(0.5, batch_first="no"), TypeError, r"batch_first to be True or"),
    ],
)
def test_constructor_arguments_are_checked(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "build",
    [
        lambda fb: LSTM(3, 4, forget_bias=fb),
        lambda fb: LSTMCell(3, 4, forget_bias=fb),
        lambda fb: SimpleLSTM(3, 4, forget_bias=fb),
        lambda fb: LayerNormLSTM(3, 4, forget_bias=fb),
    ],
)
def test_non_finite_forget_bias_is_refused(build, value):
    with pytest.raises(ValueError, match=r"expected forget_bias to be a finite number, got"):
        build(value)


def test_valid_edge_values_still_build_and_run():
    """The checks refuse nothing torch.nn accepts: p = 0 and 1, numpy-style integers."""
    layer = LSTM(3, torch.tensor(4).item(), dropout=1, weight_drop=0, forget_bias=1)
    assert layer.hidden_size == 4 and layer.dropout == 1.0 and layer.forget_bias == 1.0
    out, _ = layer(torch.zeros(2, 1, 3))
    assert out.shape == (2, 1, 4)
    assert LockedDropout(0).p == 0.0


@pytest.mark.parametrize("std", [math.inf, math.nan, 0.0, "0.1"])
def test_word_embedding_std_must_be_finite_and_positive(std):
    from rnnlab.nn import WordEmbedding

    with pytest.raises(ValueError, match=r"std must be a finite number > 0, got"):
        WordEmbedding(10, 4, std=std)


@pytest.mark.parametrize("grad", [True, False])
def test_scans_called_directly_refuse_an_empty_sequence(grad):
    from rnnlab.nn import scan

    H, B = 3, 2
    h0 = torch.zeros(B, H, requires_grad=grad)
    calls = {
        "rnn": lambda: scan.rnn_scan(torch.zeros(0, B, H), h0, torch.zeros(H, H)),
        "gru": lambda: scan.gru_scan(torch.zeros(0, B, 3 * H), h0, torch.zeros(3 * H, H)),
        "lstm": lambda: scan.lstm_scan(torch.zeros(0, B, 4 * H), h0, h0, torch.zeros(4 * H, H)),
        "rnn_ref": lambda: scan.rnn_scan_reference(torch.zeros(0, B, H), h0, torch.zeros(H, H)),
    }
    for call in calls.values():
        with pytest.raises(ValueError, match=T0):
            call()


@pytest.mark.parametrize("lengths", [[1.5, 2], [True, 2], ["2", 3], [2, None]])
def test_lengths_as_a_list_must_be_integers(lengths):
    with pytest.raises(ValueError, match=r"expected integer lengths, got"):
        GRU(2, 3)(torch.randn(4, 2, 2), lengths=lengths)
