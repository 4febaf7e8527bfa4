"""The seq2seq-variants experiment: data, protocol, statistics from the seeds, the ordering."""

from __future__ import annotations

import pytest

from rnnlab.analysis import seq2seq_variants as sv
from rnnlab.analysis import stats

TINY = sv.Budget(train_size=300, test_size=40, epochs=2, hidden_size=8, batch_size=32)


def test_held_out_sources_never_occur_in_training():
    train, test = sv.addition_splits(2000, 300, seed=0)
    assert len(train) == 2000 and len(test) == 300
    assert not {p.source for p in test} & {p.source for p in train}
    assert len({p.source for p in test}) == 300
    a, b = (int(x) for x in test[0].source.split("+"))
    assert test[0].target == str(a + b)


def test_train_variant_curve_per_epoch_and_seeding():
    data = sv.addition_splits(TINY.train_size, TINY.test_size)
    run = sv.train_variant("peeky", TINY, seed=0, data=data)
    assert len(run["accuracies"]) == len(run["losses"]) == 2
    assert run["final_accuracy"] == run["accuracies"][-1] and 0 <= run["final_accuracy"] <= 1
    assert sv.train_variant("peeky", TINY, seed=0, data=data)["losses"] == run["losses"]
    assert sv.train_variant("peeky", TINY, seed=1, data=data)["losses"] != run["losses"]
    with pytest.raises(ValueError, match="unknown condition 'peek'"):
        sv.train_variant("peek", TINY)


def test_summary_and_comparisons_are_computed_from_the_per_seed_values(monkeypatch):
    """Runs replaced by known per-seed values: the summary and verdict must follow them."""
    values = {"basic": [0.1, 0.3, 0.2, 0.0], "peeky": [0.9, 0.5, 0.7, 0.8]}

    def fake_run(condition, budget, seed, data):
        acc = values[condition][seed]
        return {"condition": condition, "seed": seed, "accuracies": [acc], "final_accuracy": acc}

    monkeypatch.setattr(sv, "train_variant", fake_run)
    monkeypatch.setattr(sv, "addition_splits", lambda *a, **k: ([], []))
    result = sv.seq2seq_variants_experiment(("basic", "peeky"), (0, 1, 2, 3), TINY)
    assert len(result["runs"]) == 8 and result["config"]["budget"]["epochs"] == TINY.epochs
    for s in result["summary"]:
        assert s["values"] == values[s["condition"]] and s["n_seeds"] == 4
        assert s["mean"] == pytest.approx(sum(s["values"]) / 4)
        assert (s["ci_low"], s["ci_high"]) == stats.bootstrap_ci(s["values"])
    (c,) = result["comparisons"]
    expected = stats.compare(c["a"]["values"], c["b"]["values"], "peeky", "basic")
    assert (c["name_a"], c["name_b"]) == ("peeky", "basic")
    assert c["p_value"] == expected.p_value and c["verdict"] == expected.verdict
    assert c["difference"] == pytest.approx(0.575) and c["cliffs_delta"] == 1.0
    assert c["p_value"] == pytest.approx(2 / 70) and c["verdict"] == "higher"
    text = sv.finding(result)
    assert c["sentence"] in text and "4 seeds" in text and "ordering (peeky > basic) holds" in text
    with pytest.raises(ValueError, match="including basic"):
        sv.seq2seq_variants_experiment(("peeky", "attention"), (0,), TINY)


def test_peeky_beats_basic_on_addition_at_a_small_budget():
    """The book's effect: reversed + peeky learns addition far faster than the basic model."""
    budget = sv.Budget(train_size=5000, test_size=300, epochs=8, hidden_size=64)
    data = sv.addition_splits(budget.train_size, budget.test_size)
    basic = sv.train_variant("basic", budget, seed=0, data=data)["final_accuracy"]
    peeky = sv.train_variant("peeky", budget, seed=0, data=data)["final_accuracy"]
    assert peeky > basic + 0.08, (peeky, basic)
