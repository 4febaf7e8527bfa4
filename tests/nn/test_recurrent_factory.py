"""``recurrent_layer`` builds the layer a cell name stands for."""

import pytest

from rnnlab.nn.recurrent import CELL_TYPES, GRU, LSTM, RNN, recurrent_layer


@pytest.mark.parametrize(
    "cell, cls, nonlinearity",
    [("rnn", RNN, "tanh"), ("rnn_relu", RNN, "relu"), ("lstm", LSTM, None), ("gru", GRU, None)],
)
def test_cell_name_selects_the_layer(cell, cls, nonlinearity):
    layer = recurrent_layer(cell, 3, 5, num_layers=2, batch_first=True)
    assert type(layer) is cls
    assert (layer.num_layers, layer.batch_first, layer.hidden_size) == (2, True, 5)
    if nonlinearity:
        assert layer.nonlinearity == nonlinearity
    assert cell in CELL_TYPES


def test_lstm_options_reach_the_constructor():
    layer = recurrent_layer("lstm", 3, 4, forget_bias=2.0)
    f = slice(4, 8)  # gate order i, f, g, o
    assert (layer.bias_ih_l0[f] + layer.bias_hh_l0[f]).tolist() == [2.0] * 4


def test_unknown_cell_names_the_choices():
    with pytest.raises(ValueError, match="cell must be one of .*got 'lstmm'"):
        recurrent_layer("lstmm", 3, 4)
