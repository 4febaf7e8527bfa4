"""The pure cell math (issue 3, section 1): textbook and fused forms agree given
rearranged weights; the fused forms equal torch.nn's cells; documented properties hold."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnnlab.nn import functional as RF

F64 = torch.float64
B, D, H = 3, 3, 4


def randn(*shape):
    return torch.randn(*shape, dtype=F64)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_textbook_equals_fused(nonlinearity):
    x, h = randn(B, D), randn(B, H)
    W_hh, W_xh, b = randn(H, H), randn(D, H), randn(H)
    textbook = RF.rnn_cell(x, h, W_hh, W_xh, b, nonlinearity)
    fused = RF.rnn_step(x, h, W_xh.T, W_hh.T, b, None, nonlinearity)
    torch.testing.assert_close(textbook, fused, atol=1e-14, rtol=0)


def test_lstm_textbook_equals_fused():
    x, h, c = randn(B, D), randn(B, H), randn(B, H)
    W = {g: randn(H + D, H) for g in "figo"}
    b = {g: randn(H) for g in "figo"}
    h1, c1 = RF.lstm_cell(x, h, c, W["f"], W["i"], W["g"], W["o"], b["f"], b["i"], b["g"], b["o"])
    stacked = torch.cat([W[g] for g in "ifgo"], dim=1)  # (H + D, 4H), torch's gate order
    bias = torch.cat([b[g] for g in "ifgo"])
    h2, c2 = RF.lstm_step(x, h, c, stacked[H:].T, stacked[:H].T, bias, None)
    torch.testing.assert_close(h1, h2, atol=1e-14, rtol=0)
    torch.testing.assert_close(c1, c2, atol=1e-14, rtol=0)


def test_gru_textbook_equals_original_variant_with_z_flipped():
    """Textbook z = 1 - torch's z: negate W_z and b_z (sigmoid(-a) = 1 - sigmoid(a))."""
    x, h = randn(B, D), randn(B, H)
    W = {g: randn(H + D, H) for g in "zrh"}
    b = {g: randn(H) for g in "zrh"}
    textbook = RF.gru_cell(x, h, W["z"], W["r"], W["h"], b["z"], b["r"], b["h"])
    stacked = torch.cat([W["r"], -W["z"], W["h"]], dim=1)  # (H + D, 3H), order r, z, n
    bias = torch.cat([b["r"], -b["z"], b["h"]])
    fused = RF.gru_step(x, h, stacked[H:].T, stacked[:H].T, bias, None, variant="original")
    torch.testing.assert_close(textbook, fused, atol=1e-14, rtol=0)
    torch_form = RF.gru_step(x, h, stacked[H:].T, stacked[:H].T, bias, None, variant="torch")
    assert not torch.allclose(torch_form, fused)  # the two variants are different functions


@pytest.mark.parametrize("bias", [True, False])
def test_fused_steps_equal_torch_cells(bias):
    x, h, c = randn(B, D), randn(B, H), randn(B, H)
    for torch_cell, step in [
        (nn.RNNCell(D, H, bias, nonlinearity="relu", dtype=F64), "rnn"),
        (nn.LSTMCell(D, H, bias, dtype=F64), "lstm"),
        (nn.GRUCell(D, H, bias, dtype=F64), "gru"),
    ]:
        w = (torch_cell.weight_ih, torch_cell.weight_hh, torch_cell.bias_ih, torch_cell.bias_hh)
        if step == "rnn":
            got, expected = RF.rnn_step(x, h, *w, "relu"), torch_cell(x, h)
        elif step == "lstm":
            got, expected = torch.cat(RF.lstm_step(x, h, c, *w)), torch.cat(torch_cell(x, (h, c)))
        else:
            got, expected = RF.gru_step(x, h, *w), torch_cell(x, h)
        torch.testing.assert_close(got, expected, atol=1e-14, rtol=0)


def test_gates_agree_with_steps():
    x, h, c = randn(B, D), randn(B, H), randn(B, H)
    w_ih, w_hh, b_ih, b_hh = randn(4 * H, D), randn(4 * H, H), randn(4 * H), randn(4 * H)
    i, f, g, o = RF.lstm_gates(x, h, c, w_ih, w_hh, b_ih, b_hh)
    h1, c1 = RF.lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh)
    torch.testing.assert_close(c1, f * c + i * g, atol=1e-14, rtol=0)
    torch.testing.assert_close(h1, o * torch.tanh(c1), atol=1e-14, rtol=0)
    w_ih, w_hh, b_ih, b_hh = randn(3 * H, D), randn(3 * H, H), randn(3 * H), randn(3 * H)
    r, z, n = RF.gru_gates(x, h, w_ih, w_hh, b_ih, b_hh)
    torch.testing.assert_close(RF.gru_step(x, h, w_ih, w_hh, b_ih, b_hh), (1 - z) * n + z * h)


def test_lstm_projection():
    x, h, c = randn(B, D), randn(B, 2), randn(B, H)
    w_ih, w_hh, w_hr = randn(4 * H, D), randn(4 * H, 2), randn(2, H)
    h_p, c_t = RF.lstm_step(x, h, c, w_ih, w_hh, None, None, w_hr)
    h_full, c_full = RF.lstm_step(x, h, c, w_ih, w_hh)
    assert h_p.shape == (B, 2) and c_t.shape == (B, H)
    torch.testing.assert_close(h_p, h_full @ w_hr.T, atol=1e-14, rtol=0)


def test_bad_names_raise():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        RF.rnn_step(randn(B, D), randn(B, H), randn(H, D), randn(H, H), nonlinearity="gelu")
    with pytest.raises(ValueError, match="variant must be 'torch' or 'original'"):
        RF.gru_step(randn(B, D), randn(B, H), randn(3 * H, D), randn(3 * H, H), variant="x")


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.1, 20.0), seed=st.integers(0, 2**16))
def test_bounds_hold_for_any_weights(scale, seed):
    """|h| < 1 for the LSTM; the GRU state is a convex blend of h_{t-1} and n in (-1, 1)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, D, generator=gen, dtype=F64) * scale
    h = torch.rand(B, H, generator=gen, dtype=F64) * 2 - 1
    c = torch.randn(B, H, generator=gen, dtype=F64) * scale
    w_ih = torch.randn(4 * H, D, generator=gen, dtype=F64) * scale
    w_hh = torch.randn(4 * H, H, generator=gen, dtype=F64) * scale
    h1, _ = RF.lstm_step(x, h, c, w_ih, w_hh)
    assert h1.abs().max() <= 1
    h2 = RF.gru_step(x, h, w_ih[: 3 * H], w_hh[: 3 * H])
    assert h2.abs().max() <= 1


def test_layer_norm_lstm_step_shapes_and_gain():
    x, h, c = randn(B, D), randn(B, H), randn(B, H)
    ones, zeros = torch.ones(4 * H, dtype=F64), torch.zeros(4 * H, dtype=F64)
    ln_c = (torch.zeros(H, dtype=F64), torch.full((H,), 0.5, dtype=F64))  # gain 0, bias 0.5
    w_ih, w_hh, bias = randn(4 * H, D), randn(4 * H, H), randn(4 * H)
    h1, c1 = RF.layer_norm_lstm_step(x, h, c, w_ih, w_hh, bias, (ones, zeros), (ones, zeros), ln_c)
    assert h1.shape == c1.shape == (B, H)
    # with LN_c gain 0, tanh(LN(c)) = tanh(0.5) everywhere, so h / tanh(0.5) is a sigmoid
    ratio = h1 / torch.tanh(torch.tensor(0.5, dtype=F64))
    assert torch.all((ratio > 0) & (ratio < 1))
