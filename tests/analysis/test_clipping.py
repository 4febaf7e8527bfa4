"""Exploding gradients: blow-up with length, NaN/inf reported with its step, clipping."""

from __future__ import annotations

import math

import pytest
import torch

from rnnlab.analysis.clipping import (
    NonFiniteError,
    check_finite,
    clipping_experiment,
    finding,
    initial_gradient_norms,
    train_with_clipping,
)


def test_gradient_norm_at_init_blows_up_with_length():
    norms = [r["grad_norm"] for r in initial_gradient_norms((5, 20, 50), hidden_size=16)]
    assert norms[0] < norms[1] < norms[2] and norms[2] > 1e3 * norms[0]


def test_unclipped_run_stops_at_first_nonfinite_step_and_clipped_runs_do_not():
    kw = dict(steps=40, hidden_size=32, seq_len=50)  # blows up at steps 22-28 for seeds 0-4
    none = train_with_clipping("none", **kw)
    assert none["nonfinite"] is not None
    step = none["nonfinite"]["step"]
    assert 0 < step < 40 and len(none["losses"]) == step  # nothing after the bad step
    assert all(math.isfinite(v) for v in none["losses"])
    assert math.isnan(none["final_loss"])
    for mode in ("norm", "value"):
        run = train_with_clipping(mode, **kw)
        assert run["nonfinite"] is None and len(run["losses"]) == 40
        assert math.isfinite(run["eval_loss"])


def test_check_finite_names_the_step_and_the_tensor():
    model = torch.nn.Linear(2, 2)
    model(torch.ones(1, 2)).sum().backward()
    check_finite(3, torch.tensor(1.0), model)
    model.bias.grad[0] = float("inf")
    with pytest.raises(NonFiniteError, match="grad:bias at step 7") as err:
        check_finite(7, torch.tensor(1.0), model)
    assert err.value.step == 7 and err.value.where == "grad:bias"
    with pytest.raises(NonFiniteError, match="loss at step 2"):
        check_finite(2, torch.tensor(float("nan")))


def test_same_seed_same_numbers_and_finding():
    kw = dict(modes=("none", "norm"), lengths=(5, 10), steps=30, hidden_size=8, seq_len=50)
    a, b = clipping_experiment(**kw), clipping_experiment(**kw)
    assert a["runs"][1]["losses"] == b["runs"][1]["losses"]
    text = finding(a)
    assert f"{a['init_norms'][-1]['grad_norm']:.3g} at T=10" in text
    if a["runs"][0]["nonfinite"]:
        assert f"stopped at step {a['runs'][0]['nonfinite']['step']}" in text


def test_clipping_over_seeds_summarises_and_compares():
    from rnnlab.analysis.clipping import clipping_over_seeds, finding_over_seeds

    kw = dict(steps=20, seq_len=10, hidden_size=6, lengths=(5, 10))
    result = clipping_over_seeds((0, 1, 2), **kw)
    assert len(result["per_seed"]) == 3 and [m["mode"] for m in result["modes"]] == [
        "none",
        "norm",
        "value",
    ]
    for m in result["modes"]:
        finished = 3 - m["nonfinite"]
        assert (m["eval_loss"] is None) == (finished == 0)
        if m["eval_loss"]:
            assert m["eval_loss"]["n"] == finished
    assert result["init_norms"][0]["log10_grad_norm"]["n"] == 3
    text = finding_over_seeds(result)
    assert text.startswith("Over 3 seeds") and "runs hit NaN/inf" in text
    for c in result["comparisons"]:
        assert c["sentence"][1:] in text
