"""End to end: `rnnlab train classify | tag`, `evaluate`, `predict`, resume, bad input.

Tiny synthetic TSV / CoNLL-U data and tiny models (one CPU thread); the real-data smoke
runs use slices of ../shared/data and are skipped when it is absent."""

from __future__ import annotations

import json
import random

import pytest
import torch
from safetensors.torch import load_file

from rnnlab.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")


TINY_CLASSIFIER = ["--embed", "8", "--hidden", "8", "--batch-size", "8", "--quiet",
                   "--threads", "1", "--set", "train.lr=0.01"]  # fmt: skip
TINY_TAGGER = ["--embed", "8", "--hidden", "8", "--batch-size", "8", "--quiet", "--threads",
               "1", "--set", "model.char_hidden=4", "--set", "model.char_dim=4",
               "--set", "train.lr=0.01"]  # fmt: skip


@pytest.fixture
def tsv_dir(tmp_path):
    """A sentiment TSV folder: the label is whether 'good' or 'bad' appears."""
    rng = random.Random(0)
    folder = tmp_path / "reviews"
    folder.mkdir()
    for name, n in (("train.tsv", 160), ("dev.tsv", 40)):
        rows = ["sentence\tlabel"]
        for _ in range(n):
            word = rng.choice(["good", "bad"])
            filler = " ".join(rng.choice(["the", "film", "was", "quite", "plot"]) for _ in range(3))
            rows.append(f"{filler} {word}\t{'pos' if word == 'good' else 'neg'}")
        (folder / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def conllu_dir(tmp_path):
    rng = random.Random(0)
    folder = tmp_path / "treebank"
    folder.mkdir()
    lexicon = {"DET": ["the", "a"], "NOUN": ["dog", "cat", "bird"], "VERB": ["runs", "sleeps"]}
    for name, n in (("tiny-train.conllu", 60), ("tiny-dev.conllu", 15), ("tiny-test.conllu", 15)):
        lines = []
        for _ in range(n):
            for i, tag in enumerate(["DET", "NOUN", "VERB"], start=1):
                word = rng.choice(lexicon[tag])
                lines.append(f"{i}\t{word}\t{word}\t{tag}\t_\t_\t0\t_\t_\t_")
            lines.append("")
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_train_evaluate_predict_classifier(tsv_dir, tmp_path, capsys):
    out, metrics = tmp_path / "run", tmp_path / "m.json"
    code = main(["train", "classify", "--dataset", f"tsv:{tsv_dir}", "--out", str(out),
                 "--epochs", "6", "--metrics-out", str(metrics), *TINY_CLASSIFIER])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    result = json.loads(metrics.read_text())
    assert result["valid_accuracy"] >= 0.95
    assert {"valid_macro_f1", "valid_f1_pos", "valid_confusion_neg_pos"} <= set(result)
    assert 0.0 <= result["train_padding_fraction"] < 0.5
    assert (out / "confusion_valid.png").is_file()
    capsys.readouterr()
    best = str(out / "checkpoints" / "best")
    assert main(["evaluate", best, "--split", "dev", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "precision" in printed and "confusion matrix" in printed and "macro-F1" in printed
    assert main(["predict", best, "the film was good", "quite bad"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("pos ") and lines[1].startswith("neg ")
    text = tmp_path / "in.txt"
    text.write_text("good film\nbad plot\n", encoding="utf-8")
    assert main(["predict", best, "--file", str(text)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in rows] == ["pos", "neg"]
    assert abs(sum(rows[0]["probabilities"].values()) - 1.0) < 1e-6


def test_classifier_resume_ends_with_identical_weights(tsv_dir, tmp_path, capsys):
    args = ["train", "classify", "--dataset", f"tsv:{tsv_dir}", *TINY_CLASSIFIER]
    assert main([*args, "--out", str(tmp_path / "a"), "--epochs", "2"]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--epochs", "1"]) == 0
    assert main(["train", "classify", "--out", str(tmp_path / "b"), "--resume", "--epochs", "2",
                 "--allow-config-change", "train.epochs", "--quiet"]) == 0  # fmt: skip
    a = load_file(tmp_path / "a" / "checkpoints" / "last" / "model.safetensors")
    b = load_file(tmp_path / "b" / "checkpoints" / "last" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_train_evaluate_predict_tagger_with_crf(conllu_dir, tmp_path, capsys):
    out, metrics = tmp_path / "run", tmp_path / "m.json"
    code = main(["train", "tag", "--dataset", f"conllu:{conllu_dir}", "--out", str(out), "--crf",
                 "--epochs", "4", "--metrics-out", str(metrics), *TINY_TAGGER])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    result = json.loads(metrics.read_text())
    assert result["test_accuracy"] >= 0.95
    assert {"test_oov_accuracy", "test_f1_NOUN", "valid_macro_f1"} <= set(result)
    capsys.readouterr()
    best = str(out / "checkpoints" / "best")
    assert main(["evaluate", best, "--split", "test"]) == 0
    assert "OOV accuracy" in capsys.readouterr().out
    assert main(["predict", best, "the cat sleeps"]) == 0
    assert capsys.readouterr().out.strip() == "the/DET cat/NOUN sleeps/VERB"


def test_bad_input_is_one_clear_line(tsv_dir, tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tlabel\nnice\tpos\n", encoding="utf-8")
    assert main(["train", "classify", "--dataset", f"tsv:{bad}", "--out", str(tmp_path / "x"),
                 *TINY_CLASSIFIER]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "bad.tsv:1: expected header columns ['sentence', 'label']" in err
    assert "Traceback" not in err
    out = tmp_path / "run"
    assert main(["train", "classify", "--dataset", f"tsv:{tsv_dir}", "--out", str(out),
                 "--epochs", "1", *TINY_CLASSIFIER]) == 0  # fmt: skip
    best = out / "checkpoints" / "best"
    capsys.readouterr()
    assert main(["predict", str(best), ""]) == 2
    assert "line 1: empty sentence" in capsys.readouterr().err
    labels = best / "vocab.labels.json"
    data = json.loads(labels.read_text())
    data["labels"].append("neutral")
    labels.write_text(json.dumps(data), encoding="utf-8")
    assert main(["predict", str(best), "good"]) == 2
    err = capsys.readouterr().err
    assert "vocab.labels.json" in err and "Traceback" not in err


def test_sst2_smoke(shared_data, tmp_path, capsys):
    metrics = tmp_path / "m.json"
    code = main(["train", "classify", "--config", "sst2-bilstm", "--data-dir", str(shared_data),
                 "--out", str(tmp_path / "run"), "--epochs", "1", "--set", "data.max_train=400",
                 "--metrics-out", str(metrics), *TINY_CLASSIFIER])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    result = json.loads(metrics.read_text())
    assert result["valid_count"] == 872 and result["train_examples"] == 400
    assert 0.3 < result["valid_accuracy"] < 1.0


def test_ud_ewt_smoke(shared_data, tmp_path, capsys):
    metrics = tmp_path / "m.json"
    code = main(["train", "tag", "--config", "ud-ewt-char", "--data-dir", str(shared_data),
                 "--out", str(tmp_path / "run"), "--epochs", "1", "--set", "data.max_train=200",
                 "--metrics-out", str(metrics), *TINY_TAGGER])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    result = json.loads(metrics.read_text())
    assert result["train_sentences"] == 200 and result["test_sentences"] > 2000
    assert result["test_oov_tokens"] > 0 and 0.0 <= result["test_oov_accuracy"] <= 1.0


def test_ud_ewt_words_with_signatures_smoke(shared_data, tmp_path, capsys):
    metrics, out = tmp_path / "m.json", tmp_path / "run"
    code = main(["train", "tag", "--config", "ud-ewt-words-sig", "--data-dir", str(shared_data),
                 "--out", str(out), "--epochs", "1", "--set", "data.max_train=200",
                 "--metrics-out", str(metrics), *TINY_TAGGER])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    result = json.loads(metrics.read_text())
    assert result["train_sentences"] == 200 and result["test_oov_tokens"] > 0
    assert 0.0 <= result["test_oov_accuracy"] <= 1.0
    best = out / "checkpoints" / "best"
    tokens = json.loads((best / "vocab.words.json").read_text())["tokens"]
    assert "<UNK-Cap>" in tokens and "<UNK-num>" in tokens
    capsys.readouterr()
    assert main(["predict", str(best), "Zorblax quickly emailed 42 people ."]) == 0
    pairs = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[0] for p in pairs] == "Zorblax quickly emailed 42 people .".split()
