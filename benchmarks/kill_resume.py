"""Crash-safety benchmark: kill training with SIGKILL at random moments, resume, and check
that the final weights are bit-identical to an uninterrupted run.

    python benchmarks/kill_resume.py --trials 40           # -> benchmarks/results/kill-resume.json

Two runs of different shapes, each in a real subprocess:

* ``lm``: rnnlab's LSTM language model on a small slice of the embedded HMM corpus
  (stateful truncated BPTT: the carried hidden state must survive the kill; dropout 0.2
  draws from the global RNG; Adam), ``last`` saved every 3 steps.
* ``toy``: a bag-of-embeddings sentence classifier of another shape (no carried state,
  data reshuffled each epoch from its own seed, dropout, SGD with momentum), run through a
  task registered in code.

Each trial starts the run, sends SIGKILL after a random delay (uniform over the reference
run's duration, so kills land in start-up, training, saves and validation) or, for half of
the kills, right after a save of ``last`` has begun, then resumes it with
``resume="auto"`` — itself killed again with probability 1/2 — until it finishes. It
records whether the kill left a save half done (a ``.last.tmp-*`` folder), and whether the
finished run's ``checkpoints/last/model.safetensors`` tensors equal the reference bit for
bit. ``tests/training/test_kill_resume.py`` runs a few trials of each in CI.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rnnlab.training import TrainConfig  # noqa: E402  (annotations of the toy configs)

HERE = Path(__file__).resolve()
LM_OVERRIDES = [
    "data.hmm_train_tokens=2400",
    "data.hmm_eval_tokens=300",
    "data.batch_size=8",
    "data.bptt=10",
    "model.hidden_size=16",
    "model.embed_dim=16",
    "model.dropout=0.2",
    "train.epochs=2",
    "train.checkpoint_every_steps=3",
    "train.num_threads=1",
    "train.progress=false",
    "train.log_interval=5",
]


# --------------------------------------------------------------------------- child runs
def _child(kind: str, out: str) -> None:
    import torch

    torch.set_num_threads(1)
    if kind == "lm":
        from rnnlab.models.lm_training import lm_config, train_lm

        cfg = lm_config("quickstart", LM_OVERRIDES)
        train_lm(cfg, out, resume="auto", finish=False, log=lambda s: None)
    else:
        from rnnlab.training.runs import train_run

        task = _toy_task()
        cfg = task.config_class()
        train_run(task, cfg, out, resume="auto", finish=False, log=lambda s: None)


def _toy_task():
    """The toy task, registered (in code) when first asked for."""
    from rnnlab.training.runs import registered_tasks

    return registered_tasks().get("kill-toy") or _register_toy()()


@dataclass(frozen=True)
class ToyModelConfig:
    vocab_size: int = 30
    num_classes: int = 3
    dim: int = 16

    def vocab_sizes(self):
        return {"words": self.vocab_size, "labels": self.num_classes}


@dataclass(frozen=True)
class ToyData:
    sentences: int = 160
    batch_size: int = 8


def _toy_train_config():
    return TrainConfig(
        optimizer="sgd",
        lr=0.5,
        momentum=0.9,
        epochs=3,
        checkpoint_every_steps=2,
        num_threads=1,
        progress=False,
        log_interval=4,
    )


def _register_toy():
    """A bag-of-embeddings classifier on random 'sentences', as a registered task."""
    import torch
    from torch import nn

    from rnnlab.text import LabelVocabulary, Vocabulary
    from rnnlab.training import StepOutput, register_model
    from rnnlab.training.runs import Prepared, Task, register_task

    @register_model
    class BagClassifier(nn.Module):
        model_type: ClassVar[str] = "kill_bag_classifier"
        config_class: ClassVar[type] = ToyModelConfig
        unit: ClassVar[str] = "sentences"

        def __init__(self, config):
            super().__init__()
            self.config = config
            self.embed = nn.EmbeddingBag(config.vocab_size, config.dim, mode="mean")
            self.drop = nn.Dropout(0.3)
            self.out = nn.Linear(config.dim, config.num_classes)

        def initial_state(self, batch_size, device):
            return None

        def detach_state(self, state):
            return state

        def step(self, batch, state):
            x, y = batch  # (B, T), (B,)
            logits = self.out(self.drop(self.embed(x)))  # (B, C)
            loss = nn.functional.cross_entropy(logits, y)
            correct = float((logits.argmax(-1) == y).sum())
            return StepOutput(loss, len(y), None, {"correct": correct})

        def summarize(self, totals):
            return {"loss": totals["loss"], "accuracy": totals["correct"] / totals["count"]}

    class Shuffled:
        def __init__(self, x, y, batch_size, seed):
            self.x, self.y, self.batch_size, self.seed, self.epoch = x, y, batch_size, seed, 1

        def set_epoch(self, epoch):
            self.epoch = epoch

        def __len__(self):
            return len(self.x) // self.batch_size

        def __iter__(self):
            g = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
            order = torch.randperm(len(self.x), generator=g)
            for i in range(len(self)):
                idx = order[i * self.batch_size : (i + 1) * self.batch_size]
                yield self.x[idx], self.y[idx]

    @dataclass(frozen=True)
    class ToyRunConfig:
        task: str = "kill-toy"
        data: ToyData = field(default_factory=ToyData)
        model: ToyModelConfig = field(default_factory=ToyModelConfig)
        train: TrainConfig = field(default_factory=_toy_train_config)

    @register_task
    class ToyTask(Task):
        name = "kill-toy"
        config_class = ToyRunConfig
        unit = "sentences"

        def prepare(self, cfg, *, data_dir, vocabs=None, splits=("train", "valid", "test")):
            g = torch.Generator().manual_seed(7)
            n = cfg.data.sentences
            x = torch.randint(2, cfg.model.vocab_size, (n, 6), generator=g)
            y = x[:, 0] % cfg.model.num_classes
            words = Vocabulary([f"w{i}" for i in range(cfg.model.vocab_size - 2)])
            labels = LabelVocabulary([str(i) for i in range(cfg.model.num_classes)])
            data = {
                "train": Shuffled(x[: n // 2], y[: n // 2], cfg.data.batch_size, cfg.train.seed),
                "valid": [(x[n // 2 :], y[n // 2 :])],
                "test": [(x[n // 2 :], y[n // 2 :])],
            }
            return Prepared(cfg, vocabs or {"words": words, "labels": labels}, data)

        def build_model(self, cfg, prepared=None):
            return BagClassifier(cfg.model)

    return ToyTask


# --------------------------------------------------------------------------- harness
def _start(kind: str, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(HERE.parents[1] / "src"))
    return subprocess.Popen(
        [sys.executable, str(HERE), "--child", kind, str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def final_weights(out: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(out / "checkpoints" / "last" / "model.safetensors"))


def reference(kind: str, out: Path) -> float:
    """Run ``kind`` uninterrupted into ``out``; returns its wall time."""
    t0 = time.perf_counter()
    proc = _start(kind, out)
    _, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"reference {kind} run failed:\n{err.decode()[-3000:]}")
    return time.perf_counter() - t0


def _saving(out: Path) -> bool:
    ckdir = out / "checkpoints"
    try:
        return ckdir.is_dir() and any(p.name.startswith(".last.tmp-") for p in ckdir.iterdir())
    except FileNotFoundError:  # a folder renamed while we listed it
        return False


def _wait_for_a_save(proc: subprocess.Popen, out: Path, deadline: float) -> bool:
    """Poll (every ~1 ms) until a save of `last` is under way; False if the run ended."""
    while proc.poll() is None and time.monotonic() < deadline:
        if _saving(out):
            return True
        time.sleep(0.001)
    return False


def trial(kind: str, out: Path, ref: dict, duration: float, rng: random.Random) -> dict:
    """Kill a run at random moments until it completes; compare with ``ref``.

    Each kill is either at a uniform random time, or (half of them) aimed at a save: the
    harness waits until a ``.last.tmp-*`` folder appears and kills 0-20 ms later.
    """
    import torch

    kills, in_save = 0, 0
    plan: str | None = rng.choice(["time", "save"])
    while True:
        proc = _start(kind, out)
        if plan is None:  # the last attempt: run to the end
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"{kind} run failed (exit {proc.returncode}):\n{err.decode()}")
            break
        if plan == "time":
            try:
                _, err = proc.communicate(timeout=rng.uniform(0.0, duration))
                if proc.returncode != 0:
                    raise RuntimeError(f"{kind} run failed:\n{err.decode()}")
                break  # finished before the kill
            except subprocess.TimeoutExpired:
                pass
        else:
            if not _wait_for_a_save(proc, out, time.monotonic() + 4 * duration):
                _, err = proc.communicate()
                if proc.returncode != 0:
                    raise RuntimeError(f"{kind} run failed:\n{err.decode()}")
                break
            time.sleep(rng.uniform(0.0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        in_save += _saving(out)
        plan = rng.choice(["time", "save"]) if rng.random() < 0.5 else None
    got = final_weights(out)
    same = set(got) == set(ref) and all(torch.equal(got[k], ref[k]) for k in ref)
    return {"kills": kills, "kills_during_save": in_save, "bit_identical": same}


def run_trials(kind: str, work: Path, trials: int, seed: int = 0) -> dict[str, Any]:
    rng = random.Random(seed)
    duration = reference(kind, work / f"{kind}-reference")
    ref = final_weights(work / f"{kind}-reference")
    results = [trial(kind, work / f"{kind}-trial-{i}", ref, duration, rng) for i in range(trials)]
    return {
        "kind": kind,
        "trials": trials,
        "reference_wall_s": duration,
        "kills": sum(r["kills"] for r in results),
        "kills_during_save": sum(r["kills_during_save"] for r in results),
        "bit_identical": sum(r["bit_identical"] for r in results),
        "per_trial": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("KIND", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--trials", type=int, default=20, help="trials per run kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="runs/kill-resume", help="scratch folder")
    parser.add_argument("--out", default=str(HERE.parent / "results" / "kill-resume.json"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    import shutil

    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    report = {
        "command": f"python benchmarks/kill_resume.py --trials {args.trials} --seed {args.seed}",
        "runs": [run_trials(kind, work, args.trials, args.seed) for kind in ("lm", "toy")],
    }
    from rnnlab.training.storage import write_json

    write_json(args.out, report)
    for r in report["runs"]:
        print(
            f"{r['kind']}: {r['trials']} trials, {r['kills']} kills "
            f"({r['kills_during_save']} during a save), {r['bit_identical']}/{r['trials']} "
            "resumed bit-identically"
        )


if __name__ == "__main__":
    main()
