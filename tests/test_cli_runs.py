"""The run plumbing from the command line: resume with the saved config, refused config
changes, divergence, device checks, evaluate by task (split aliases, --text-file, the data
location the run remembers), `rnnlab configs`, and signals in a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnlab.cli import main

TINY = [
    "--dataset",
    "hmm",
    "--quiet",
    "--threads",
    "1",
    "--set",
    "data.hmm_train_tokens=1500",
    "--set",
    "data.hmm_eval_tokens=300",
    "--set",
    "data.batch_size=8",
    "--set",
    "model.hidden_size=16",
    "--set",
    "model.embed_dim=16",
    "--set",
    "train.log_interval=5",
]


@pytest.fixture
def one_epoch_run(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "lm", "--out", str(out), "--epochs", "1", *TINY]) == 0
    return out


def test_resume_uses_the_saved_config_and_refuses_changes(one_epoch_run, capsys):
    out = one_epoch_run
    capsys.readouterr()
    # no flags at all: the saved config is used; the run is complete, so it just reports
    assert main(["train", "lm", "--out", str(out), "--resume", "--quiet"]) == 0
    assert json.loads((out / "final_metrics.json").read_text())["epochs"] == 1
    # changing the numbers is refused and names every difference
    assert (
        main(["train", "lm", "--out", str(out), "--resume", "--epochs", "2", "--bptt", "20"]) == 2
    )
    err = capsys.readouterr().err
    assert "train.epochs: 1 -> 2" in err and "data.bptt: 35 -> 20" in err
    assert "--allow-config-change data.bptt train.epochs" in err
    # a deliberate change: more epochs
    args = ["train", "lm", "--out", str(out), "--resume", "--epochs", "2", "--quiet"]
    assert main([*args, "--allow-config-change", "train.epochs"]) == 0
    final = json.loads((out / "final_metrics.json").read_text())
    assert final["epochs"] == 2
    steps = [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())]
    assert steps == sorted(steps)


def test_resume_with_other_data_is_refused(one_epoch_run, capsys):
    out = one_epoch_run
    args = ["train", "lm", "--out", str(out), "--resume", "--set", "data.hmm_seed=5"]
    assert main([*args, "--allow-config-change", "data.hmm_seed"]) == 2
    assert "built from the data differs from the one saved" in capsys.readouterr().err


def test_a_diverging_run_stops_cleanly_and_keeps_the_good_checkpoint(tmp_path, capsys):
    out = tmp_path / "div"
    args = ["train", "lm", "--out", str(out), *TINY, "--set", "train.optimizer=sgd"]
    args += ["--set", "train.clip_norm=none", "--lr", "1e8", "--epochs", "2"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "training stopped:" in err and "at step" in err and "Traceback" not in err
    assert not (out / "checkpoints" / "best").exists()  # a diverged epoch is never `best`


def test_cuda_without_cuda_fails_before_anything_is_written(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "cuda-run"
    assert main(["train", "lm", "--out", str(out), "--device", "cuda", *TINY]) == 2
    assert "CUDA is not available" in capsys.readouterr().err
    assert not out.exists()
    assert main(["train", "lm", "--out", str(out), "--set", "train.device=foo", *TINY]) == 2
    assert "device must be cpu, cuda" in capsys.readouterr().err


def test_evaluate_dispatches_on_the_task_with_split_aliases(one_epoch_run, capsys, monkeypatch):
    from rnnlab.text import hmm

    best = one_epoch_run / "checkpoints" / "best"
    final = json.loads((one_epoch_run / "final_metrics.json").read_text())
    sampled = []
    real = hmm.hmm_split
    monkeypatch.setattr(
        hmm, "hmm_split", lambda seed, split, *a: sampled.append(split) or real(seed, split, *a)
    )
    capsys.readouterr()
    assert main(["evaluate", str(best), "--split", "test"]) == 0
    assert sampled == ["test"]  # the training stream is not re-sampled to evaluate
    assert f"test ppl {final['test_ppl']:.2f}" in capsys.readouterr().out
    assert main(["evaluate", str(best), "--split", "dev"]) == 0
    assert f"valid ppl {final['valid_ppl']:.2f}" in capsys.readouterr().out
    assert main(["evaluate", str(best), "--split", "dve"]) == 2
    assert "unknown split 'dve'" in capsys.readouterr().err
    assert main(["evaluate", str(best), "--batch-size", "0"]) == 2


def test_text_run_evaluates_from_anywhere_and_on_any_text_file(tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"the cat number {i % 7} sat on the mat" for i in range(300)))
    out = tmp_path / "textrun"
    args = ["train", "lm", "--dataset", f"text:{corpus.name}", "--out", str(out), "--epochs", "1"]
    monkeypatch.chdir(tmp_path)
    assert main([*args, "--quiet", "--threads", "1", "--set", "model.hidden_size=16"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["data"]["dataset"] == f"text:{corpus.resolve()}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["evaluate", str(out / "checkpoints" / "best")]) == 0
    other = tmp_path / "other.txt"
    other.write_text("the cat number 3 sat on the mat\nthe zebra sat\n")
    assert main(["evaluate", str(out / "checkpoints" / "best"), "--text-file", str(other)]) == 0
    captured = capsys.readouterr()
    assert "text ppl" in captured.out and "1 of 13 tokens" in captured.err
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9\n".encode("latin-1"))
    assert main(["evaluate", str(out / "checkpoints" / "best"), "--text-file", str(bad)]) == 2
    assert "latin1.txt: not UTF-8 text" in capsys.readouterr().err


def test_flags_without_a_config_start_from_a_working_recipe(capsys):
    from rnnlab.models.lm_training import LMTask
    from rnnlab.training.runs import load_run_config

    task = LMTask()
    cfg = load_run_config(task, None, ["data.dataset=ptb", "model.cell=gru"])
    assert cfg.model.cell == "gru" and cfg.train.clip_norm is not None
    assert cfg.train.loss_reduction == "sum_over_time" and cfg.train.schedule == "step"
    assert task.default_config(["data.dataset=hmm"]) == "quickstart"
    assert task.default_config(["data.dataset=text:x.txt", "data.char=true"]) == "char-small"


def test_configs_lists_each_with_its_task_and_a_config_of_another_task_is_refused(tmp_path, capsys):
    assert main(["configs"]) == 0
    listing = capsys.readouterr().out
    assert "ptb-small" in listing and " lm " in listing
    other = tmp_path / "classify.toml"
    other.write_text('task = "classify"\n[train]\nlr = 0.1\n')
    assert main(["train", "lm", "--config", str(other), "--out", str(tmp_path / "x")]) == 2
    assert "is a config for task 'classify', not 'lm'" in capsys.readouterr().err
    assert main(["train", "lm", "--config", "/bin/ls", "--out", str(tmp_path / "x")]) == 2
    assert "expected a .toml file" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_cli_saves_last_and_prints_the_resume_command(tmp_path, signum):
    out = tmp_path / "sig"
    cmd = [sys.executable, "-m", "rnnlab", "train", "lm", "--out", str(out), "--quiet"]
    cmd += ["--threads", "1", "--set", "data.hmm_train_tokens=200000", "--epochs", "3"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    deadline = time.time() + 120
    while not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").read_text():
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read().decode()
        time.sleep(0.2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    err = err.decode()
    assert proc.returncode == (143 if signum == signal.SIGTERM else 130), err
    assert f"saved {out}/checkpoints/last" in err
    assert f"resume with: rnnlab train lm --out {out} --resume" in err
    state = json.loads((out / "checkpoints/last/trainer_state.json").read_text())["trainer"]
    assert state["phase"] == "train" and 0 < state["batches_done"] < 285


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--lr", "inf"], "lr must be a finite number > 0"),
        (["--lr", "nan"], "lr must be a finite number > 0"),
        (["--set", "train.monitor=accuracy"], "train.monitor='accuracy' is not a metric"),
        (["--set", "model.hidden_size=2.5"], "expected an integer, got '2.5'"),
        (["--set", "data.max_vocab=0"], "data.max_vocab must be >= 1"),
        (["--set", "data.max_train_tokens=-5"], "data.max_train_tokens must be >= 1"),
        (["--set", "train.checkpoint_every_steps=0"], "checkpoint_every_steps must be >= 1"),
        (["--set", "train.max_loss=-1"], "max_loss must be a number > 0"),
        (["--resume", "--out", "/nonexistent/run"], "no checkpoint to resume"),
    ],
)
def test_bad_flags_are_one_clear_line_and_leave_nothing(tmp_path, capsys, flags, message):
    out = tmp_path / "bad"
    args = ["train", "lm", *TINY, *flags]
    if "--out" not in flags:
        args += ["--out", str(out)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (out / "checkpoints").exists()
