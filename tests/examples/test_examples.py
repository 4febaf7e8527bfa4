"""Each of the four shape examples learns what it claims (not only that it runs)."""

from __future__ import annotations

import json

import pytest

from rnnlab.cli import main
from rnnlab.examples import many_to_many, many_to_one, one_to_many, one_to_one

pytestmark = pytest.mark.usefixtures("one_thread")


def test_one_to_one_learns_the_square():
    assert one_to_one.run(verbose=False)["mse"] < 2e-3


def test_one_to_many_generates_every_multiple_exactly():
    result = one_to_many.run(verbose=False)
    assert result["max_error"] < 0.5  # so every one of the 90 multiples rounds right
    assert result["exact"] == 1.0


def test_many_to_one_reads_negation():
    assert many_to_one.run(verbose=False)["accuracy"] >= 0.97


def test_many_to_many_tags_ambiguous_words_by_context():
    result = many_to_many.run(verbose=False)
    assert result["accuracy"] >= 0.97
    assert result["ambiguous_accuracy"] >= 0.95


def test_cli_example_prints_predictions_and_writes_metrics(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert main(["example", "many-to-one", "--metrics-out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "truth" in printed and "predicted" in printed
    assert json.loads(out.read_text())["accuracy"] >= 0.97
