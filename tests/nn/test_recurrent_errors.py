"""Errors at the public boundary (issue 3, section 7) name what was expected and what
arrived."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlab.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell


@pytest.mark.parametrize(
    "shape,batch_first,match",
    [
        (
            (3, 5, 7),
            True,
            r"expected input of shape \(B, T, 8\) with batch_first=True, got \(3, 5, 7\)",
        ),
        ((5, 3, 7), False, r"expected input of shape \(T, B, 8\), got \(5, 3, 7\)"),
        ((2, 3, 5, 8), False, r"expected input of shape \(T, B, 8\), got \(2, 3, 5, 8\)"),
        ((8,), True, r"expected input of shape \(B, T, 8\) with batch_first=True, got \(8,\)"),
        ((5, 7), False, r"expected input of shape \(T, 8\) \(unbatched\), got \(5, 7\)"),
    ],
)
def test_wrong_input_rank_or_features(shape, batch_first, match):
    layer = LSTM(8, 4, batch_first=batch_first)
    with pytest.raises(ValueError, match=match):
        layer(torch.randn(shape))


@pytest.mark.parametrize("backend", ["scratch", "native"])
def test_state_shape_mismatch(backend):
    x = torch.randn(5, 3, 2)
    gru = GRU(2, 4, num_layers=2, bidirectional=True, backend=backend)
    with pytest.raises(ValueError, match=r"expected hx of shape \(4, 3, 4\), got \(2, 3, 4\)"):
        gru(x, torch.zeros(2, 3, 4))
    lstm = LSTM(2, 4, proj_size=3, backend=backend)
    good_h, good_c = torch.zeros(1, 3, 3), torch.zeros(1, 3, 4)
    with pytest.raises(ValueError, match=r"expected hx\[0\] \(h_0\) of shape \(1, 3, 3\), got"):
        lstm(x, (torch.zeros(1, 3, 4), good_c))
    with pytest.raises(ValueError, match=r"expected hx\[1\] \(c_0\) of shape \(1, 3, 4\), got"):
        lstm(x, (good_h, torch.zeros(1, 3, 3)))
    with pytest.raises(ValueError, match=r"expected hx to be a pair \(h_0, c_0\)"):
        lstm(x, good_h)
    with pytest.raises(ValueError, match=r"expected hx of shape \(1, 4\), got \(1, 3, 4\)"):
        RNN(2, 4, backend=backend)(torch.randn(5, 2), torch.zeros(1, 3, 4))  # unbatched


@pytest.mark.parametrize(
    "lengths,match",
    [
        ([5, 6, 1], r"expected every length in 1..5 \(T, the padded length\), got min 1, max 6"),
        ([5, 0, 1], r"expected every length in 1..5 .*got min 0, max 5"),
        ([5, -1, 2], r"got min -1"),
        ([5, 5], r"expected lengths of shape \(3,\), got \(2,\)"),
        (torch.tensor([[5, 5, 5]]), r"expected lengths of shape \(3,\), got \(1, 3\)"),
        (torch.tensor([5.0, 5.0, 5.0]), r"expected integer lengths, got dtype torch.float32"),
    ],
)
def test_bad_lengths(lengths, match):
    with pytest.raises(ValueError, match=match):
        RNN(2, 4)(torch.randn(5, 3, 2), lengths=lengths)


def test_lengths_with_packed_sequence():
    packed = pack_padded_sequence(torch.randn(5, 2, 2), [5, 3], enforce_sorted=False)
    with pytest.raises(ValueError, match="lengths=None with a PackedSequence"):
        LSTM(2, 4)(packed, lengths=[5, 3])


def test_dtype_mismatch():
    layer = LSTM(2, 4, dtype=torch.float64)
    with pytest.raises(
        TypeError, match=r"expected input of dtype torch.float64 .*got torch.float32"
    ):
        layer(torch.randn(5, 3, 2))
    x = torch.randn(5, 3, 2, dtype=torch.float64)
    h = torch.zeros(1, 3, 4)
    with pytest.raises(TypeError, match=r"expected hx\[0\] \(h_0\) of dtype torch.float64"):
        layer(x, (h, h.double()))


def test_device_mismatch():
    layer = GRU(2, 4)
    with pytest.raises(RuntimeError, match=r"expected input on device cpu .*got meta"):
        layer(torch.empty(5, 3, 2, device="meta"))
    with pytest.raises(RuntimeError, match=r"expected hx on device cpu .*got meta"):
        layer(torch.randn(5, 3, 2), torch.empty(1, 3, 4, device="meta"))


def test_not_a_tensor():
    with pytest.raises(TypeError, match="expected input to be a Tensor, got list"):
        RNN(2, 4)([[1.0, 2.0]])


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: LSTM(4, 4, proj_size=4), r"proj_size < hidden_size \(4\)"),
        (lambda: LSTM(4, 4, dropout=1.5), r"expected dropout in \[0, 1\], got 1.5"),
        (lambda: LSTM(4, 4, weight_drop=-0.1), r"expected weight_drop in \[0, 1\]"),
        (lambda: LSTM(4, 0), r"expected hidden_size >= 1, got 0"),
        (lambda: LSTM(4, 4, backend="fast"), r"backend must be one of"),
        (lambda: RNN(4, 4, nonlinearity="sigmoid"), r"nonlinearity must be 'tanh' or 'relu'"),
        (lambda: GRU(4, 4, variant="minimal"), r"variant must be 'torch' or 'original'"),
    ],
)
def test_constructor_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_cell_errors():
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 3\), got \(2, 4\)"):
        RNNCell(3, 5)(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"expected hx of shape \(2, 5\), got \(3, 5\)"):
        GRUCell(3, 5)(torch.randn(2, 3), torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"expected cx of shape \(2, 5\), got \(2, 4\)"):
        LSTMCell(3, 5)(torch.randn(2, 3), (torch.zeros(2, 5), torch.zeros(2, 4)))
