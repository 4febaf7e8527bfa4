"""Recorded gates replay the layer exactly; saturation statistics; gradient-norm recorder."""

from __future__ import annotations

import pytest
import torch

from rnnlab.analysis.gates import (
    record_gates,
    record_gru,
    record_lstm,
    record_rnn,
    saturation,
)


def _final_states(records, num_directions, key):
    """The state after each (layer, direction)'s last step: t = T-1 forward, t = 0 reverse."""
    last = [0 if k % num_directions == 1 else -1 for k in range(len(records))]
    return torch.stack([r[key][t] for r, t in zip(records, last)])


def _top_output(records, num_directions):
    top = records[-num_directions:]
    return torch.cat([r["h"] for r in top], dim=2)  # (T, B, D*H)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_replay_equals_torch_layer(cls, num_layers, bidirectional):
    layer = getattr(torch.nn, cls)(3, 5, num_layers=num_layers, bidirectional=bidirectional)
    x = torch.randn(7, 4, 3)
    out, state = layer(x)
    records = record_gates(layer, x)
    D = 2 if bidirectional else 1
    assert len(records) == num_layers * D
    torch.testing.assert_close(_top_output(records, D), out)
    if cls == "LSTM":
        torch.testing.assert_close(_final_states(records, D, "h"), state[0])
        torch.testing.assert_close(_final_states(records, D, "c"), state[1])
    else:
        torch.testing.assert_close(_final_states(records, D, "h"), state)


def test_lstm_gates_reproduce_cell_and_output():
    layer = torch.nn.LSTM(3, 6, batch_first=True)
    x = torch.randn(2, 9, 3)
    h0, c0 = torch.randn(1, 2, 6), torch.randn(1, 2, 6)
    out, (h_n, c_n) = layer(x, (h0, c0))
    (rec,) = record_lstm(layer, x, (h0, c0))
    assert set(rec) == {"i", "f", "g", "o", "c", "h"}
    c_prev = torch.cat([c0[0][None], rec["c"][:-1]])  # (T, B, H)
    torch.testing.assert_close(rec["c"], rec["f"] * c_prev + rec["i"] * rec["g"])
    torch.testing.assert_close(rec["h"], rec["o"] * torch.tanh(rec["c"]))
    torch.testing.assert_close(rec["h"].transpose(0, 1), out)
    torch.testing.assert_close(rec["c"][-1], c_n[0])


def test_lstm_projection_and_relu_rnn():
    lstm = torch.nn.LSTM(3, 6, proj_size=2)
    x = torch.randn(5, 2, 3)
    out, _ = lstm(x)
    torch.testing.assert_close(record_lstm(lstm, x)[0]["h"], out)
    rnn = torch.nn.RNN(3, 4, nonlinearity="relu", bias=False)
    torch.testing.assert_close(record_rnn(rnn, x)[0]["h"], rnn(x)[0])


def test_gru_gates_reproduce_output():
    layer = torch.nn.GRU(3, 4)
    x = torch.randn(6, 2, 3)
    (rec,) = record_gru(layer, x)
    h_prev = torch.cat([torch.zeros(1, 2, 4), rec["h"][:-1]])
    torch.testing.assert_close(rec["h"], (1 - rec["z"]) * rec["n"] + rec["z"] * h_prev)
    torch.testing.assert_close(rec["h"], layer(x)[0])


def test_wrong_family_and_wrong_shape_fail_early():
    with pytest.raises(TypeError, match="expected an LSTM layer, got GRU"):
        record_lstm(torch.nn.GRU(3, 4), torch.randn(2, 1, 3))
    with pytest.raises(ValueError, match=r"expected input of shape \(T, B, D\)"):
        record_gates(torch.nn.GRU(3, 4), torch.randn(2, 3))
    with pytest.raises(TypeError, match="torch.nn parameter names"):
        record_gates(torch.nn.Linear(3, 4), torch.randn(2, 1, 3))


def test_saturation_counts_values_near_limits():
    rec = {
        "f": torch.tensor([0.05, 0.5, 0.95, 0.99]),
        "g": torch.tensor([-0.95, 0.0, 0.0, 0.5]),
        "h": torch.zeros(4),
    }
    stats = saturation(rec)
    assert set(stats) == {"f", "g"}
    assert stats["f"] == pytest.approx(
        {"low": 0.25, "high": 0.5, "saturated": 0.75, "mean": 0.6225}
    )
    assert stats["g"]["low"] == 0.25 and stats["g"]["high"] == 0.0
