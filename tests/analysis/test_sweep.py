"""Length sweeps: seeded runs, early stop once solved, edges and comparisons per T."""

from __future__ import annotations

import pytest

from rnnlab.analysis.sweep import (
    Budget,
    Condition,
    _edge,
    edge_sentence,
    length_sweep,
    train_to_solve,
    with_budget,
)

TINY = Budget(
    steps=40,
    batch_size=16,
    hidden_size=8,
    embedding_dim=8,
    eval_every=10,
    probe_size=64,
    eval_size=64,
)


def test_train_to_solve_is_seeded_and_stops_once_solved():
    cond = Condition("GRU", "gru")
    a = train_to_solve(cond, "copy", 2, 0, TINY)
    assert a == {**train_to_solve(cond, "copy", 2, 0, TINY), "cpu_s": a["cpu_s"]}
    assert [p[0] for p in a["curve"]] == list(range(10, a["steps"] + 1, 10))
    # T = 1: the label is the only token; solved within the budget, and the run stops there
    easy = train_to_solve(cond, "copy", 1, 0, with_budget(TINY, steps=400, lr=0.03))
    assert easy["solved_step"] == easy["steps"] < 400 and easy["curve"][-1][1] >= 0.99
    with pytest.raises(ValueError, match="classification"):
        train_to_solve(cond, "adding", 5, 0, TINY)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        Budget(steps=0)


def test_edge_is_the_longest_T_solved_with_every_shorter_T():
    rows = {5: {"solved": True}, 10: {"solved": True}, 20: {"solved": False}, 40: {"solved": True}}
    assert _edge(rows) == 10
    assert _edge({5: {"solved": False}}) is None


def test_length_sweep_summarises_over_seeds_and_compares_per_T():
    conds = [Condition("forget bias 1", "lstm", 1.0), Condition("RNN", "rnn")]
    result = length_sweep(conds, "copy", (2, 3), (0, 1, 2), TINY, threshold=0.5)
    assert len(result["runs"]) == 2 * 2 * 3 and len(result["summary"]) == 4
    row = result["summary"][0]
    assert row["n_seeds"] == 3 and len(row["values"]) == 3 and row["chance"] == pytest.approx(0.2)
    assert row["solved"] == (row["solved_share"] > 0.5)
    assert [(c["name_a"], c["name_b"], c["seq_len"]) for c in result["comparisons"]] == [
        ("forget bias 1", "RNN", 2),
        ("forget bias 1", "RNN", 3),
    ]
    assert set(result["edges"]) == {"forget bias 1", "RNN"}
    steps = result["step_comparisons"][0]
    taken = [r["steps"] for r in result["runs"] if r["condition"] == "RNN" and r["seq_len"] == 2]
    assert steps["b"]["values"] == taken and "steps to solve" in steps["sentence"]
    text = edge_sentence(result)
    assert "more than half of 3 seeds" in text and "of 2, 3" in text
    with pytest.raises(ValueError, match="distinct"):
        length_sweep([conds[0], conds[0]], "copy", (2,), (0,), TINY)
    with pytest.raises(ValueError, match="unknown task"):
        length_sweep(conds, "nope", (2,), (0,), TINY)


def test_stop_at_edge_skips_only_lengths_that_cannot_change_an_edge():
    conds = [Condition("GRU", "gru")]
    # T = 1 is solved at this budget, T = 30 is not: with stop_at_edge, T = 60 is skipped
    budget = with_budget(TINY, steps=300, lr=0.03)
    result = length_sweep(conds, "copy", (1, 30, 60), (0, 1, 2), budget, stop_at_edge=True)
    assert result["config"]["lengths"] == [1, 30] and result["config"]["skipped_lengths"] == [60]
    assert {r["seq_len"] for r in result["runs"]} == {1, 30}
    assert result["edges"] == {"GRU": 1}
    full = length_sweep(conds, "copy", (1, 30), (0, 1, 2), budget)
    assert full["edges"] == result["edges"] and full["config"]["skipped_lengths"] == []
