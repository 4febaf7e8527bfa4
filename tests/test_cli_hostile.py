"""Hostile inputs through the command line (issue 13): a clear one-line error and exit
code 2, never a traceback, and nothing left behind."""

from __future__ import annotations

import re

from rnnlab.cli import main
from rnnlab.models import size

TINY_HMM = ["--set", "data.hmm_train_tokens=2000", "--set", "data.hmm_eval_tokens=500"]


def test_train_with_an_impossible_hidden_size_is_refused_before_allocating(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(size, "physical_memory_bytes", lambda: 16 * 10**9)
    out = tmp_path / "run"
    assert main(["train", "lm", "--hidden", "100000", "--out", str(out), *TINY_HMM]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab train lm: LanguageModel(lstm, ") and "H=100000" in err
    found = re.search(r"would have ([\d,]+) parameters, ([\d.]+) GB at 4 bytes each", err)
    count, gb = found.groups()
    assert int(count.replace(",", "")) > 10**10 and float(gb) > 40  # H^2 terms alone: 4e10
    assert "of this machine's 16.0 GB of memory" in err and "Traceback" not in err
    assert not (out / "checkpoints").exists()


def test_train_on_a_non_utf8_text_file_names_the_file(tmp_path, capsys):
    corpus = tmp_path / "latin1.txt"
    corpus.write_bytes("".join(f"line {i} caf\u00e9\n" for i in range(30)).encode("latin-1"))
    assert main(["train", "lm", "--dataset", f"text:{corpus}", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert str(corpus) in err and "UTF-8" in err and "Traceback" not in err
