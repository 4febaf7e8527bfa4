"""Sequence-length sweeps over seeds: where does each model stop solving a memory task?

``length_sweep`` trains every condition (a cell, or a cell with a forget-gate bias) on one
synthetic task (``rnnlab.analysis.tasks``) at each sequence length T, once per seed, with the
same fixed ``Budget``, and returns per (condition, T) the accuracy of every seed, its mean and
95% bootstrap interval, and per condition the *edge*: the longest T of the sweep up to which
the condition solves the task (accuracy >= ``threshold`` in more than half of the seeds, at
that T and every shorter T of the sweep). Comparisons between conditions at each T come with
their effect size and permutation p-value (``rnnlab.analysis.stats``).

One run (``train_to_solve``):

    for step in 1..budget.steps:                      # Adam, fresh batch each step, clip 1
        loss(model(x), y).backward(); opt.step()
        every budget.eval_every steps: accuracy on budget.probe_size fresh samples;
            stop early once it reaches budget.stop_accuracy (the task is solved)
    final accuracy on budget.eval_size fresh samples

Early stopping only saves time: a stopped run has solved the task, an unsolved one gets the
whole budget.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from rnnlab.analysis import stats
from rnnlab.analysis.models import SequenceModel
from rnnlab.analysis.tasks import TASKS, generator

__all__ = [
    "Budget",
    "BUDGETS",
    "Condition",
    "train_to_solve",
    "length_sweep",
    "edge_sentence",
    "with_budget",
]


@dataclass(frozen=True)
class Budget:
    """The training budget of one run (the same for every condition and length)."""

    steps: int = 600
    batch_size: int = 32
    lr: float = 0.003
    hidden_size: int = 32
    embedding_dim: int = 32
    eval_every: int = 25
    probe_size: int = 256
    stop_accuracy: float = 0.99
    eval_size: int = 1000

    def __post_init__(self):
        for name in ("steps", "batch_size", "hidden_size", "embedding_dim", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"budget {name} must be >= 1, got {getattr(self, name)}")


BUDGETS = {
    "default": Budget(),
    "long": Budget(steps=2000, hidden_size=64),
}


@dataclass(frozen=True)
class Condition:
    """What is trained: a cell name ("rnn", "lstm", "gru") and, for LSTMs, the forget bias."""

    name: str
    cell: str
    forget_bias: float | None = None


@torch.no_grad()
def _accuracy(model: SequenceModel, spec, n: int, seq_len: int, gen: torch.Generator) -> float:
    x, y = spec.sample(n, seq_len, gen)  # (n, T[, D]), (n,)
    return model.accuracy(model(x), y)


def train_to_solve(
    condition: Condition, task: str, seq_len: int, seed: int, budget: Budget = Budget()
) -> dict:
    """One seeded run of ``condition`` on ``task`` at length ``seq_len`` (see module doc).

    Returns:
        {"condition", "seq_len", "seed", "final_accuracy", "steps" (taken), "solved_step"
         (the step the probe first reached stop_accuracy, or None), "curve": [[step,
         probe accuracy, mean training loss since the last probe], ...], "cpu_s"}.
    """
    spec = TASKS[task]
    if not spec.num_classes:
        raise ValueError(f"length_sweep needs a classification task, got {task!r} (regression)")
    start = time.process_time()
    gen = generator(seed)
    kwargs = {"forget_bias": condition.forget_bias} if condition.cell == "lstm" else {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SequenceModel(
            spec, condition.cell, budget.hidden_size, embedding_dim=budget.embedding_dim, **kwargs
        )
    opt = torch.optim.Adam(model.parameters(), lr=budget.lr)
    curve, solved, losses, step = [], None, [], 0
    for step in range(1, budget.steps + 1):
        x, y = spec.sample(budget.batch_size, seq_len, gen)  # (B, T[, D]), (B,)
        loss = model.loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % budget.eval_every == 0:
            probe = _accuracy(model, spec, budget.probe_size, seq_len, gen)
            curve.append([step, probe, sum(losses) / len(losses)])
            losses = []
            if probe >= budget.stop_accuracy:
                solved = step
                break
    final = _accuracy(model, spec, budget.eval_size, seq_len, gen)
    return {
        "condition": condition.name,
        "seq_len": seq_len,
        "seed": seed,
        "final_accuracy": final,
        "steps": step,
        "solved_step": solved,
        "curve": curve,
        "cpu_s": time.process_time() - start,
    }


def _edge(by_T: dict[int, dict]) -> int | None:
    """The longest T up to which every T of the sweep is solved (None: not even the first)."""
    edge = None
    for T in sorted(by_T):
        if not by_T[T]["solved"]:
            break
        edge = T
    return edge


def length_sweep(
    conditions: list[Condition],
    task: str = "copy",
    lengths: tuple[int, ...] = (5, 10, 20, 40, 80),
    seeds: tuple[int, ...] = tuple(range(10)),
    budget: Budget = Budget(),
    *,
    threshold: float = 0.9,
    pairs: list[tuple[str, str]] | None = None,
    stop_at_edge: bool = False,
    progress=None,
) -> dict:
    """``train_to_solve`` for every condition x length x seed, summarised.

    Args:
        conditions: what to train (names must be distinct).
        pairs: the (a, b) condition names compared at each length (default: every pair, in
            the order given).
        threshold: the accuracy a seed must reach for "solved".
        stop_at_edge: skip the longer lengths once no condition solves a length. No edge
            can change (an edge needs every shorter T solved); the skipped lengths are
            listed as ``config["skipped_lengths"]`` and have no rows or comparisons.
    Returns:
        {"config": {...}, "runs": [train_to_solve results],
         "summary": [{condition, seq_len, n_seeds, mean, ci_low, ci_high, values,
                      solved_share, solved, chance}],
         "edges": {condition: longest T solved, or None},
         "comparisons": [{seq_len, sentence, **stats.Comparison.to_dict()}] of final accuracy,
         "step_comparisons": the same for the steps taken (a run stops once solved; an
         unsolved run counts the whole budget)}.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(TASKS)}")
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise ValueError(f"condition names must be distinct, got {names}")
    if not lengths or not seeds:
        raise ValueError(f"expected at least one length and one seed, got {lengths}, {seeds}")
    runs, ran = [], []
    for T in lengths:
        for cond, seed in itertools.product(conditions, seeds):
            r = train_to_solve(cond, task, T, seed, budget)
            runs.append(r)
            if progress is not None:
                steps = f"solved at step {r['solved_step']}" if r["solved_step"] else "not solved"
                progress(
                    f"{task} T={T} {cond.name} seed {seed}: accuracy {r['final_accuracy']:.3f} "
                    f"({steps}, {r['cpu_s']:.1f} s)"
                )
        ran.append(T)
        at_T = [r for r in runs if r["seq_len"] == T]
        solved_any = any(
            sum(r["final_accuracy"] >= threshold for r in at_T if r["condition"] == c.name)
            > len(seeds) / 2
            for c in conditions
        )
        if stop_at_edge and not solved_any and T != lengths[-1]:
            if progress is not None:
                progress(f"no condition solves T={T}: skipping the longer lengths (stop_at_edge)")
            break
    skipped = [T for T in lengths if T not in ran]
    lengths = tuple(ran)
    chance = TASKS[task].chance()
    summary, by = [], {}
    for cond, T in itertools.product(conditions, lengths):
        values = [
            r["final_accuracy"] for r in runs if r["condition"] == cond.name and r["seq_len"] == T
        ]
        s = stats.summarize(values)
        share = sum(v >= threshold for v in values) / len(values)
        row = {
            "condition": cond.name,
            "seq_len": T,
            "n_seeds": s.n,
            **{k: v for k, v in s.to_dict().items() if k != "n"},
            "solved_share": share,
            "solved": share > 0.5,
            "chance": chance,
        }
        summary.append(row)
        by.setdefault(cond.name, {})[T] = row
    comparisons, step_comparisons = [], []
    for a, b in pairs or list(itertools.combinations(names, 2)):
        for T in lengths:
            c = stats.compare(by[a][T]["values"], by[b][T]["values"], a, b)
            comparisons.append({"seq_len": T, "sentence": c.sentence(f"T={T}"), **c.to_dict()})
            steps = {
                n: [r["steps"] for r in runs if r["condition"] == n and r["seq_len"] == T]
                for n in (a, b)
            }
            c = stats.compare(steps[a], steps[b], a, b)
            what = f"T={T}, steps to solve (unsolved: the budget, {budget.steps})"
            step_comparisons.append({"seq_len": T, "sentence": c.sentence(what, 0), **c.to_dict()})
    config = {
        "task": task,
        "conditions": [asdict(c) for c in conditions],
        "lengths": list(lengths),
        "skipped_lengths": skipped,
        "seeds": list(seeds),
        "budget": asdict(budget),
        "threshold": threshold,
        "test": stats.TEST_NAME,
    }
    edges = {name: _edge(by[name]) for name in names}
    return {
        "config": config,
        "runs": runs,
        "summary": summary,
        "edges": edges,
        "comparisons": comparisons,
        "step_comparisons": step_comparisons,
    }


def edge_sentence(result: dict) -> str:
    """'Longest T solved (accuracy >= 0.9 in more than half of 10 seeds, every shorter T
    too): RNN 20, LSTM 10, GRU 40 (of 5..80).'"""
    cfg = result["config"]
    lengths = cfg["lengths"]
    parts = [
        f"{name} {edge if edge is not None else f'none (fails at T={lengths[0]})'}"
        for name, edge in result["edges"].items()
    ]
    top = [name for name, edge in result["edges"].items() if edge == lengths[-1]]
    tail = (
        f"; {', '.join(top)} still solve{'s' if len(top) == 1 else ''} the longest T" if top else ""
    )
    return (
        f"Longest T solved on {cfg['task']} (accuracy >= {cfg['threshold']:g} in more than half "
        f"of {len(cfg['seeds'])} seeds, and at every shorter T of {', '.join(map(str, lengths))}): "
        + ", ".join(parts)
        + tail
        + "."
    )


def with_budget(budget: Budget, **overrides) -> Budget:
    """``budget`` with some fields replaced (None values are ignored)."""
    return replace(budget, **{k: v for k, v in overrides.items() if v is not None})
