"""RNN vs LSTM vs GRU: what is measured is what the models are."""

from __future__ import annotations

import torch

from rnnlab.analysis.compare_cells import (
    compare_cells_experiment,
    finding,
    markdown_table,
    saved_tensor_bytes,
    train_cell,
)
from rnnlab.analysis.sweep import Budget


def test_saved_tensor_bytes_counts_what_autograd_keeps():
    x = torch.randn(10, 20, requires_grad=True)
    out, nbytes = saved_tensor_bytes(lambda: torch.sigmoid(x))
    assert nbytes == 10 * 20 * 4  # sigmoid saves its output
    _, none = saved_tensor_bytes(lambda: x.detach() + 1)
    assert none == 0


def test_parameter_counts_and_memory_rank_the_cells():
    kw = dict(seq_len=6, hidden_size=8, epochs=2, batches_per_epoch=2, batch_size=4, eval_size=8)
    runs = {c: train_cell(c, "copy", **kw) for c in ("rnn", "lstm", "gru")}
    E, H, V = 16, 8, 5
    head_and_embedding = V * E + H * V + V
    for cell, gates in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        layer = gates * (H * E + H * H + 2 * H)
        assert runs[cell]["parameters"] == layer + head_and_embedding
        assert len(runs[cell]["losses"]) == 2 and runs[cell]["seconds_per_epoch"] > 0
    assert runs["rnn"]["saved_bytes"] < runs["gru"]["saved_bytes"]
    assert runs["rnn"]["saved_bytes"] < runs["lstm"]["saved_bytes"]


def test_sweep_costs_table_and_finding():
    budget = Budget(
        steps=4,
        batch_size=4,
        hidden_size=4,
        embedding_dim=4,
        eval_every=2,
        probe_size=8,
        eval_size=8,
    )
    a = compare_cells_experiment("parity", (3, 5), (0, 1), budget, ("rnn", "gru"))
    b = compare_cells_experiment("parity", (3, 5), (0, 1), budget, ("rnn", "gru"))
    assert [r["curve"] for r in a["runs"]] == [r["curve"] for r in b["runs"]]  # seeded
    assert [c["cell"] for c in a["costs"]] == ["rnn", "gru"]
    assert a["costs"][0]["parameters"] < a["costs"][1]["parameters"]
    table = markdown_table(a["costs"], a["edges"])
    assert table.count("\n") == 3 and "| GRU |" in table and "longest T solved" in table
    text = finding(a)
    assert text.startswith("Longest T solved on parity")


def test_finding_states_whether_the_textbook_ordering_holds():
    def result(edges):
        comps = [{"verdict": "higher", "difference": 0.5, "sentence": "T=20: LSTM beats RNN"}]
        cfg = {"task": "copy", "threshold": 0.9, "seeds": [0, 1], "lengths": [5, 10, 20]}
        return {"edges": edges, "comparisons": comps, "config": cfg}

    assert "ordering holds here" in finding(result({"RNN": 5, "LSTM": 10, "GRU": 20}))
    text = finding(result({"RNN": 10, "LSTM": 5, "GRU": 20}))
    assert "does not hold here" in text and "longer than LSTM" in text
    assert "equal edges" in finding(result({"RNN": None, "LSTM": None, "GRU": None}))
    assert "Largest detected difference: T=20: LSTM beats RNN." in text
