"""The forget-bias experiment: protocol, seeding, and its mechanism."""

from __future__ import annotations

import pytest
import torch

from rnnlab.analysis.forget_bias import (
    LSTMClassifier,
    finding,
    forget_bias_experiment,
    train_and_evaluate,
)
from rnnlab.analysis.gradient_flow import state_gradient_norms


def test_forget_gate_bias_is_initialised():
    model = LSTMClassifier(5, 8, forget_bias=1.0)
    b = model.lstm.bias_ih_l0 + model.lstm.bias_hh_l0
    assert torch.all(b[8:16] == 1.0)
    assert model(torch.zeros(3, 4, dtype=torch.long)).shape == (3, 5)
    with pytest.raises(ValueError, match=r"expected tokens of shape \(B, T\)"):
        model(torch.zeros(3, dtype=torch.long))


def test_train_and_evaluate_protocol_and_seeding():
    losses, accs = train_and_evaluate(1.0, seq_len=5, hidden_size=8, epochs=10, batch_size=8)
    assert len(losses) == 10 and len(accs) == 2
    assert all(0.0 <= a <= 1.0 for a in accs)
    again = train_and_evaluate(1.0, seq_len=5, hidden_size=8, epochs=10, batch_size=8)
    other = train_and_evaluate(1.0, seq_len=5, hidden_size=8, epochs=10, batch_size=8, seed=1)
    assert (losses, accs) == again and losses != other[0]


def test_forget_bias_one_lets_more_gradient_reach_the_first_token():
    """The mechanism: at init the loss at step T reaches step 1 more strongly with bias 1."""
    x = torch.randint(0, 5, (16, 30), generator=torch.Generator().manual_seed(0))
    ratios = []
    for seed in range(3):
        first = {}
        for fb in (0.0, 1.0):
            torch.manual_seed(seed)
            model = LSTMClassifier(5, 16, forget_bias=fb)
            first[fb] = state_gradient_norms(model.lstm, model.embedding(x).detach())["h"][0]
        ratios.append((first[1.0] / first[0.0]).item())
    assert min(ratios) > 10


def test_experiment_compares_the_biases_over_seeds_and_the_finding_quotes_the_statistics():
    result = forget_bias_experiment(
        (0.0, 1.0), (4,), (0, 1), hidden_size=8, epochs=10, batch_size=8
    )
    assert len(result["runs"]) == 4 and len(result["summary"]) == 2
    s = result["summary"][1]
    assert s["forget_bias"] == 1.0 and s["n_seeds"] == 2 and len(s["values"]) == 2
    assert s["ci_low"] <= s["mean"] <= s["ci_high"]
    (c,) = result["comparisons"]
    assert (c["name_a"], c["name_b"]) == ("forget bias 1", "forget bias 0")
    # two seeds: the smallest exact permutation p is 2 / C(4, 2) = 1/3, never "higher"
    assert c["p_value"] >= 1 / 3 and c["verdict"] == "no detectable difference at this budget"
    text = finding(result)
    assert c["sentence"] in text and "over 2 seeds" in text and "permutation" in text
    with pytest.raises(ValueError, match="at least two forget biases"):
        forget_bias_experiment((1.0,), (4,), (0,))
