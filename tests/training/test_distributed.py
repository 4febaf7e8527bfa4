"""Data-parallel training through torchrun (gloo, CPU, real subprocesses): two processes
with the same global batch follow the one-process run and end with equal weights on every
rank; the batch columns are sharded so the carried LSTM state stays on one rank."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SRC = Path(__file__).resolve().parents[2] / "src"
ARGS = [
    "train",
    "lm",
    "--dataset",
    "hmm",
    "--quiet",
    "--threads",
    "1",
    "--epochs",
    "2",
    "--set",
    "data.hmm_train_tokens=3000",
    "--set",
    "data.hmm_eval_tokens=400",
    "--set",
    "data.batch_size=8",
    "--set",
    "data.bptt=10",
    "--set",
    "model.hidden_size=16",
    "--set",
    "model.embed_dim=16",
    "--set",
    "train.log_interval=5",
]


def _run(out: Path, nproc: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(SRC), OMP_NUM_THREADS="1")
    if nproc == 1:
        cmd = [sys.executable, "-m", "rnnlab", *ARGS, "--out", str(out)]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += [f"--nproc-per-node={nproc}", "-m", "rnnlab", *ARGS, "--out", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "final_metrics.json").read_text())


def _train_losses(out: Path) -> list[float]:
    records = map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
    return [r["metrics"]["loss"] for r in records if r["split"] == "train_interval"]


@pytest.mark.slow
def test_two_processes_follow_one_process_and_stay_in_sync(tmp_path):
    from safetensors.torch import load_file

    one = _run(tmp_path / "one", 1)
    two = _run(tmp_path / "two", 2)
    assert one["world_size"] == 1 and two["world_size"] == 2
    assert two["ranks_in_sync"] is True  # every rank ends with bit-equal parameters
    a, b = _train_losses(tmp_path / "one"), _train_losses(tmp_path / "two")
    assert len(a) == len(b) > 5
    loss_gap = max(abs(x - y) / x for x, y in zip(a, b))
    ppl_gap = abs(one["test_ppl"] - two["test_ppl"]) / one["test_ppl"]
    if os.environ.get("RNNLAB_DDP_RESULTS"):  # the README's row; see its command there
        from rnnlab.files import write_json

        write_json(
            os.environ["RNNLAB_DDP_RESULTS"],
            {
                "command": "RNNLAB_DDP_RESULTS=benchmarks/results/ddp-gloo.json python -m "
                "pytest -q -m slow tests/training/test_distributed.py",
                "max_relative_train_loss_gap": loss_gap,
                "relative_test_ppl_gap": ppl_gap,
                "test_ppl_1_process": one["test_ppl"],
                "test_ppl_2_processes": two["test_ppl"],
                "ranks_in_sync": two["ranks_in_sync"],
                "logged_points": len(a),
            },
        )
    assert loss_gap < 1e-4, (a, b)
    assert ppl_gap < 1e-3
    wa = load_file(str(tmp_path / "one/checkpoints/last/model.safetensors"))
    wb = load_file(str(tmp_path / "two/checkpoints/last/model.safetensors"))
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_two_process_run_killed_and_resumed_is_bit_identical(tmp_path):
    """kill -9 the whole torchrun job mid-run, resume it with the same command: every
    rank's RNG, partial totals and carried state come back, so the weights are exact."""
    import signal
    import time

    from safetensors.torch import load_file

    _run(tmp_path / "ref", 2)
    out = tmp_path / "cut"
    env = dict(os.environ, PYTHONPATH=str(SRC), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    cmd += ["-m", "rnnlab", *ARGS, "--out", str(out), "--set", "train.checkpoint_every_steps=4"]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
    state = out / "checkpoints" / "last" / "trainer_state.json"
    deadline = time.time() + 300
    while not (state.exists() and json.loads(state.read_text())["trainer"]["global_step"] >= 12):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # torchrun and both ranks, at once
    proc.wait()
    final = _run_resume(out, env)
    assert final["world_size"] == 2 and final["ranks_in_sync"] is True
    wa = load_file(str(tmp_path / "ref/checkpoints/last/model.safetensors"))
    wb = load_file(str(out / "checkpoints/last/model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def _run_resume(out: Path, env: dict) -> dict:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    cmd += ["-m", "rnnlab", "train", "lm", "--out", str(out), "--resume", "--quiet"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "final_metrics.json").read_text())


@pytest.mark.slow
def test_a_sentence_task_trains_data_parallel(tmp_path):
    """The classifier's bucketed batches are split across the ranks (each batch in W near-
    equal parts): two processes train it, agree on every parameter, and learn the task."""
    import random

    rng = random.Random(0)
    folder = tmp_path / "reviews"
    folder.mkdir()
    for name, n in (("train.tsv", 160), ("dev.tsv", 40)):
        rows = ["sentence\tlabel"]
        for _ in range(n):
            word = rng.choice(["good", "bad"])
            filler = " ".join(rng.choice(["the", "film", "was", "quite"]) for _ in range(3))
            rows.append(f"{filler} {word}\t{'pos' if word == 'good' else 'neg'}")
        (folder / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "clf"
    env = dict(os.environ, PYTHONPATH=str(SRC), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    cmd += ["-m", "rnnlab", "train", "classify", "--dataset", f"tsv:{folder}", "--out", str(out)]
    cmd += ["--embed", "8", "--hidden", "8", "--batch-size", "8", "--epochs", "6", "--quiet"]
    cmd += ["--threads", "1", "--set", "train.lr=0.01"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    final = json.loads((out / "final_metrics.json").read_text())
    assert final["world_size"] == 2 and final["ranks_in_sync"] is True
    assert final["valid_accuracy"] > 0.9
