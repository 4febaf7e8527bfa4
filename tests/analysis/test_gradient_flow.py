"""Gradient flow: the textbook claims as assertions."""

from __future__ import annotations

import math

import pytest
import torch

from rnnlab.analysis.gradient_flow import (
    cell_path_check,
    decay_rate,
    float64_layer,
    jacobian_norms,
    matrix_power_norms,
    state_gradient_norms,
)
from rnnlab.analysis.gradient_flow_experiment import finding, gradient_flow_experiment
from rnnlab.analysis.models import set_spectral_radius


def _x(T, B=4, D=8, seed=0):
    return torch.randn(T, B, D, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_lstm_gradient_at_t1_exceeds_rnn_by_orders_of_magnitude_at_T100():
    x = _x(100)
    rnn = state_gradient_norms(float64_layer("rnn", 8, 16, 0, None), x)["h"]
    lstm = state_gradient_norms(float64_layer("lstm", 8, 16, 0, 1.0), x)["h"]
    assert lstm[0] > 1e6 * rnn[0]
    # both still see the read-out at t = T: the unit read-out vector
    assert rnn[-1].item() == pytest.approx(1.0) and lstm[-1].item() == pytest.approx(1.0)


@pytest.mark.parametrize("cls", ["rnnlab", "torch"])
def test_forget_gate_product_equals_measured_cell_path_jacobian(cls):
    if cls == "torch":
        layer = torch.nn.LSTM(8, 6).double()
    else:
        layer = float64_layer("lstm", 8, 6, 0, 1.0)
    check = cell_path_check(layer, _x(30, B=3))
    # dc_T/dc_t = diag(prod f), elementwise and exactly diagonal
    torch.testing.assert_close(check["measured"], check["product"], rtol=1e-12, atol=1e-15)
    assert check["off_diagonal"].max().item() == 0.0
    assert torch.all(check["product"][-1] == 1)
    torch.testing.assert_close(check["measured_norm"], check["product_norm"])
    assert isinstance(check["max_error"], float) and check["max_error"] < 1e-12
    # the full Jacobian (h not cut) has other paths: it differs from the product, except at
    # t = T where both are the identity
    assert check["full_max_error"] > 1e-3
    torch.testing.assert_close(check["full_measured"][-1], torch.ones_like(check["product"][-1]))
    assert check["full_off_diagonal"].max().item() > 0


def test_full_cell_path_jacobian_equals_autograd_through_the_layer():
    """The full dc_T/dc_t is the layer's own: restart the layer at step t from (h_t, c_t)
    with h_t = o_t * tanh(c_t) and differentiate its final cell state by c_t."""
    from rnnlab.analysis.unroll import unroll

    layer = float64_layer("lstm", 8, 4, 0, 1.0)
    x = _x(6, B=1)
    check = cell_path_check(layer, x)
    t = 2
    step = unroll(layer, x)[0][t]
    o_t, c_t = step["o"].detach(), step["c"].detach()

    def c_T(c):  # (B, H) -> (B, H)
        h = o_t * torch.tanh(c)
        _, (_, c_last) = layer(x[t + 1 :], (h[None], c[None]))
        return c_last[0]

    jac = torch.autograd.functional.jacobian(c_T, c_t)[0, :, 0, :]  # (H_out, H_in)
    torch.testing.assert_close(check["full_measured"][t, 0], jac.diagonal(), rtol=1e-9, atol=1e-12)


def test_replayed_gradients_equal_the_layers_own():
    layer = float64_layer("gru", 8, 5, 0, None)
    x = _x(12, B=2)
    out, _ = layer(x)
    (g_layer,) = torch.autograd.grad(out[-1].sum(), layer.weight_hh_l0)
    from rnnlab.analysis.unroll import unroll

    h_T = unroll(layer, x)[0][-1]["h"]
    (g_replay,) = torch.autograd.grad(h_T.sum(), layer.weight_hh_l0)
    torch.testing.assert_close(g_replay, g_layer)


def test_jacobian_at_last_step_is_identity_and_decays_before():
    layer = float64_layer("rnn", 8, 6, 0, None)
    jac = jacobian_norms(layer, _x(20))
    assert jac[-1].item() == pytest.approx(math.sqrt(6))  # ||I||_F
    assert jac[0] < jac[10] < jac[-1]


def test_spectral_radius_below_one_vanishes_above_explodes():
    x = _x(60)
    rates = {}
    for radius in (0.5, 3.0):
        rnn = float64_layer("rnn", 8, 16, 0, None)
        set_spectral_radius(rnn, radius)
        rates[radius] = decay_rate(jacobian_norms(rnn, x))["rate"]
    assert rates[0.5] < 0.7 and rates[3.0] > 1.1
    powers = matrix_power_norms(torch.diag(torch.tensor([0.5, 2.0])), 4)
    torch.testing.assert_close(powers, torch.tensor([1.0, 2.0, 4.0, 8.0], dtype=torch.float64))


def test_decay_rate_fits_geometric_sequence_and_skips_underflow():
    norms = [0.5 ** (9 - t) for t in range(10)]
    fit = decay_rate(norms)
    assert fit["rate"] == pytest.approx(0.5) and fit["underflow_steps"] == 0
    fit = decay_rate([0.0, 0.0, *norms[2:]])
    assert fit["rate"] == pytest.approx(0.5) and fit["underflow_steps"] == 2
    assert math.isnan(decay_rate([0.0, 0.0, 1.0])["rate"])


def test_experiment_is_seeded_and_finding_is_computed():
    kw = dict(
        cells=("rnn", "lstm"),
        lengths=(10, 20),
        hidden_size=6,
        batch_size=2,
        radii=(0.5, 3.0),
        radius_seq_len=20,
    )
    a, b = gradient_flow_experiment(**kw), gradient_flow_experiment(**kw)
    assert a == b
    text = finding(a)
    rnn20 = next(e for e in a["flow"] if e["cell"] == "rnn" and e["seq_len"] == 20)
    assert f"RNN {rnn20['dL_dh'][0]:.1e}" in text and "vanishes for spectral radius 0.5" in text
    assert a["cell_path"]["max_abs_difference"] < 1e-12


def test_scaled_norm_does_not_underflow_where_the_squares_would():
    from rnnlab.analysis.gradient_flow import scaled_norm

    g = torch.tensor([[3e-200, 4e-200], [0.0, 0.0]], dtype=torch.float64)
    assert g.norm(dim=1)[0].item() == 0.0  # the squares underflow
    n = scaled_norm(g, 1)
    assert n[0].item() / 5e-200 == pytest.approx(1.0, rel=1e-12) and n[1].item() == 0.0
