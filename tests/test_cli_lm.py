"""End to end: `rnnlab quickstart`, `train lm`, `evaluate`, `generate`, and bad input.

Kept short: tiny corpora and models, a few hundred steps, one CPU thread."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from rnnlab.cli import main


@pytest.fixture(autouse=True)
def _one_thread():
    """evaluate / generate run with torch's default threads: one is fastest on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY_HMM = [
    "--set",
    "data.hmm_train_tokens=20000",
    "--set",
    "data.hmm_eval_tokens=3000",
    "--set",
    "data.batch_size=16",
    "--set",
    "train.lr=0.01",
]


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_quickstart_with_a_tiny_budget(tmp_path, capsys):
    out, metrics_path = tmp_path / "qs", tmp_path / "qs.json"
    args = [
        "quickstart",
        "--out",
        str(out),
        "--epochs",
        "2",
        "--samples",
        "2",
        "--quiet",
        "--metrics-out",
        str(metrics_path),
        *TINY_HMM,
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "unigram baseline" in text and "exact optimum" in text and "samples" in text
    m = json.loads(metrics_path.read_text())
    assert m["optimal_ppl"] < m["bigram_ppl"] < m["unigram_ppl"]
    assert m["test_ppl"] < m["unigram_ppl"]
    assert (out / "checkpoints" / "best" / "model.safetensors").is_file()
    assert (out / "curves.png").is_file()
    # a second run into the same folder refuses and overwrites nothing
    before = _snapshot(out)
    assert main(args) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert _snapshot(out) == before


@pytest.fixture(scope="module")
def ptb_run(shared_data, tmp_path_factory):
    """A 1 x 32 LSTM on the first 60k PTB tokens for 300 steps (2,000-word vocabulary)."""
    out = tmp_path_factory.mktemp("ptb") / "run"
    args = [
        "train",
        "lm",
        "--dataset",
        "ptb",
        "--data-dir",
        str(shared_data),
        "--layers",
        "1",
        "--hidden",
        "32",
        "--embed",
        "32",
        "--batch-size",
        "10",
        "--bptt",
        "20",
        "--epochs",
        "1",
        "--lr",
        "20",
        "--threads",
        "1",
        "--quiet",
        "--out",
        str(out),
        "--metrics-out",
        str(out.parent / "metrics.json"),
        "--set",
        "train.clip_norm=0.25",
        "--set",
        "data.max_train_tokens=60000",
        "--set",
        "data.max_eval_tokens=5000",
        "--set",
        "data.max_vocab=2000",
    ]
    assert main(args) == 0
    return out, json.loads((out.parent / "metrics.json").read_text()), args


def test_train_lm_on_a_ptb_slice_beats_the_unigram_baseline(ptb_run, shared_data):
    from rnnlab.models.lm_training import LMDataConfig, build_lm_vocab, load_lm_corpus
    from rnnlab.text.hmm import ngram_perplexity

    out, metrics, _ = ptb_run
    assert metrics["steps"] == 300
    data = LMDataConfig(dataset="ptb", max_train_tokens=60000, max_eval_tokens=5000, max_vocab=2000)
    corpus = load_lm_corpus(data, shared_data)
    vocab = build_lm_vocab(corpus.splits["train"], data)
    unk = [[w if w in vocab else "<UNK>" for w in corpus.splits[s]] for s in ("train", "test")]
    unigram = ngram_perplexity(unk[0], unk[1], order=1)  # about 215
    assert metrics["test_ppl"] < 0.9 * unigram
    saved = json.loads((out / "config.json").read_text())
    assert saved["model"]["hidden_size"] == 32 and saved["data"]["dataset"] == "ptb"


def test_evaluate_reproduces_the_test_perplexity(ptb_run, shared_data, tmp_path):
    out, metrics, _ = ptb_run
    path = tmp_path / "eval.json"
    assert (
        main(
            [
                "evaluate",
                str(out / "checkpoints" / "best"),
                "--split",
                "test",
                "--data-dir",
                str(shared_data),
                "--metrics-out",
                str(path),
            ]
        )
        == 0
    )
    assert json.loads(path.read_text())["test_ppl"] == pytest.approx(metrics["test_ppl"], rel=1e-4)


def test_generate_warns_about_unknown_prompt_words(ptb_run, capsys):
    out, _, _ = ptb_run
    assert (
        main(
            [
                "generate",
                str(out / "checkpoints" / "best"),
                "--prompt",
                "the zqxj market",
                "--max-tokens",
                "12",
                "--seed",
                "1",
                "--temperature",
                "0.8",
                "--top-k",
                "40",
                "--top-p",
                "0.9",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "'zqxj'" in captured.err and "<UNK>" in captured.err
    assert captured.out.startswith("the zqxj market")
    assert "<PAD>" not in captured.out and "<UNK> " not in captured.out.split("market", 1)[1]


def test_resume_with_another_architecture_is_refused_and_overwrites_nothing(ptb_run, capsys):
    out, _, args = ptb_run
    before = _snapshot(out / "checkpoints")
    bad = [a if a != "32" else "48" for a in args] + ["--resume"]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert "differs from the saved one" in err and "model.hidden_size: 32 -> 48" in err
    assert "--allow-config-change" in err
    assert _snapshot(out / "checkpoints") == before


def test_checkpoint_with_a_mismatched_vocabulary_is_a_clear_error(ptb_run, tmp_path, capsys):
    from rnnlab.text.vocab import Vocabulary

    out, _, _ = ptb_run
    ckpt = tmp_path / "ckpt"
    shutil.copytree(out / "checkpoints" / "best", ckpt)
    # a consistent forgery: the vocabulary replaced, config.json and the manifest rewritten
    from rnnlab.training.checkpoint import vocab_fingerprint

    forged = Vocabulary(["a", "b"])
    forged.save(ckpt / "vocab.tokens.json")
    config = json.loads((ckpt / "config.json").read_text())
    config["vocabs"]["tokens"].update(size=4, sha256=vocab_fingerprint(forged.to_dict()))
    (ckpt / "config.json").write_text(json.dumps(config))
    manifest = json.loads((ckpt / "manifest.json").read_text())
    for name in ("vocab.tokens.json", "config.json"):
        data = (ckpt / name).read_bytes()
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    (ckpt / "manifest.json").write_text(json.dumps(manifest))
    assert main(["generate", str(ckpt), "--prompt", "the"]) == 2
    err = capsys.readouterr().err
    assert "vocabulary mismatch" in err and "'tokens' has 4 entries but the model expects" in err


def test_empty_corpus_and_unknown_config_key_are_clear_errors(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    assert main(["train", "lm", "--dataset", f"text:{empty}", "--out", str(tmp_path / "r")]) == 2
    assert "empty" in capsys.readouterr().err
    assert not (tmp_path / "r" / "checkpoints").exists()
    assert main(["train", "lm", "--set", "model.hiden_size=3"]) == 2
    assert "unknown config key 'model.hiden_size'" in capsys.readouterr().err
    assert main(["train", "lm", "--config", "no-such-config"]) == 2
    assert "shipped configs" in capsys.readouterr().err
    assert main(["train", "lm", "--hidden", "30", "--embed", "20", "--tie"]) == 2
    assert "tie_weights needs embed_dim == the top layer's output size" in capsys.readouterr().err


def test_character_level_model_on_a_text_file(tmp_path):
    text = tmp_path / "poem.txt"
    text.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 40)
    out = tmp_path / "char"
    assert (
        main(
            [
                "train",
                "lm",
                "--dataset",
                f"text:{text}",
                "--char",
                "--config",
                "char-small",
                "--hidden",
                "32",
                "--embed",
                "16",
                "--layers",
                "1",
                "--bptt",
                "20",
                "--batch-size",
                "4",
                "--epochs",
                "2",
                "--lr",
                "0.01",
                "--threads",
                "1",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    m = json.loads((out / "final_metrics.json").read_text())
    assert m["test_ppl"] < 8  # ~20 characters; this text is very predictable
