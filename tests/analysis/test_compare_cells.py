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


def test_seeded_table_and_finding():
    kw = dict(epochs=2, batches_per_epoch=2, batch_size=4, hidden_size=4, eval_size=8)
    a = compare_cells_experiment({"parity": 5, "adding": 6}, ("rnn", "gru"), **kw)
    b = compare_cells_experiment({"parity": 5, "adding": 6}, ("rnn", "gru"), **kw)
    assert [r["losses"] for r in a["results"]] == [r["losses"] for r in b["results"]]
    table = markdown_table(a["results"])
    assert table.count("\n") == 2 + 4 - 1 and "| parity | 5 | GRU |" in table
    text = finding(a)
    r = a["results"][0]
    assert f"RNN {r['final_accuracy']:.2f}" in text and "chance 0.50" in text
