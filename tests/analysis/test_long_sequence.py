"""The notes-003 long-sequence experiments, scaled down: protocol, notes values, finding."""

from __future__ import annotations

import math

import pytest

from rnnlab.analysis import long_sequence as ls


def test_compare_models_records_every_epoch_and_the_notes_values():
    r = ls.compare_models_on_long_sequence(seq_len=30, epochs=3, batch_size=8, hidden_size=6)
    assert [x["cell"] for x in r["results"]] == ["rnn", "lstm", "gru"]
    rnn = r["results"][0]
    assert len(rnn["losses"]) == 3 and rnn["loss_at_80"] is None
    assert rnn["notes_loss_at_80"] == 0.21 and ls.NOTES_LOSS_AT_80 == {
        "rnn": 0.21,
        "lstm": 0.10,
        "gru": 0.09,
    }
    again = ls.compare_models_on_long_sequence(seq_len=30, epochs=3, batch_size=8, hidden_size=6)
    assert [x["losses"] for x in again["results"]] == [x["losses"] for x in r["results"]]
    text = ls.finding(r)
    assert "loss at epoch 3: RNN" in text and "no cell has learned the task" in text


def test_finding_at_epoch_80_quotes_the_notes_and_checks_their_ordering():
    def run(cell, loss, accuracy=0.9):
        return {"cell": cell, "losses": [loss] * 80, "final_accuracy": accuracy}

    cmp = {"config": {"seq_len": 20000}, "results": [run("rnn", 0.3), run("lstm", 0.1)]}
    text = ls.finding(cmp)
    assert "RNN 0.300 (notes 0.21), LSTM 0.100 (notes 0.10)" in text and "holds here" in text
    cmp["results"][1]["losses"] = [0.5] * 80
    assert "does not hold here" in ls.finding(cmp)
    # nobody learned: no ordering is claimed from noise
    chance = {
        "config": {"seq_len": 2000},
        "results": [run("rnn", 0.69, 0.5), run("gru", 0.68, 0.51)],
    }
    text = ls.finding(chance)
    assert "no cell has learned the task" in text and "holds" not in text


def test_ratio_text_reports_underflow_with_the_fitted_estimate():
    g = {"ratio_first_to_last": 0.0, "decay": {"rate": 0.5}, "config": {"seq_len": 101}}
    assert (
        ls.ratio_text(g)
        == "0 in float64 (underflow; the fitted x0.500 per step puts it near 10^-30)"
    )
    assert ls.ratio_text({**g, "ratio_first_to_last": 1.5e-7}) == "1.5e-07"


def test_long_sequence_gradient_vanishes_towards_the_start():
    g = ls.test_long_sequence(seq_len=200, steps=2, batch_size=4, hidden_size=6)
    assert len(g["grad_norms"]) == 2 and all(math.isfinite(v) for v in g["grad_norms"])
    assert 0 < g["dL_dh_first"] < 1e-6 * g["dL_dh_last"]  # float64: vanished, not underflowed
    assert g["ratio_first_to_last"] == pytest.approx(g["dL_dh_first"] / g["dL_dh_last"])
    assert g["decay"]["rate"] < 1
