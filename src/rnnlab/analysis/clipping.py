"""Exploding gradients and clipping (Pascanu, Mikolov & Bengio 2013).

An Elman RNN whose W_hh has spectral radius > 1 (and inputs that keep tanh out of
saturation) multiplies the gradient by more than 1 per step back in time, so the
gradient norm grows exponentially with the sequence length. ``clipping_experiment``:

1. measures the gradient norm at initialisation for several lengths (the blow-up);
2. trains the same model with SGD and no clipping, norm clipping (rescale the whole
   gradient to norm <= max_norm) and value clipping (clamp each entry to [-v, v]).

Every step is guarded: a NaN or inf in the loss, a gradient or a parameter stops the run
and is reported with its step and where it appeared (``NonFiniteError``), instead of
being silently carried into the next update.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnnlab.analysis import stats
from rnnlab.analysis.models import SequenceModel, set_spectral_radius
from rnnlab.analysis.tasks import TASKS, generator

__all__ = [
    "NonFiniteError",
    "check_finite",
    "clip_gradients",
    "train_with_clipping",
    "initial_gradient_norms",
    "clipping_experiment",
    "CLIP_MODES",
    "finding",
    "clipping_over_seeds",
    "finding_over_seeds",
]

CLIP_MODES = ("none", "norm", "value")
_LABELS = {"none": "no clipping", "norm": "norm clipping", "value": "value clipping"}


class NonFiniteError(RuntimeError):
    """A NaN or inf appeared. ``step`` is the training step, ``where`` the tensor."""

    def __init__(self, step: int, where: str):
        super().__init__(f"non-finite value in {where} at step {step}")
        self.step, self.where = step, where


def check_finite(
    step: int, loss: torch.Tensor | None = None, model: nn.Module | None = None, what: str = "grad"
) -> None:
    """Raise ``NonFiniteError`` if the loss, or the model's gradients (what="grad") or
    parameters (what="param"), hold a NaN or inf."""
    if loss is not None and not torch.isfinite(loss).all():
        raise NonFiniteError(step, "loss")
    if model is None:
        return
    for name, p in model.named_parameters():
        t = p.grad if what == "grad" else p
        if t is not None and not torch.isfinite(t).all():
            raise NonFiniteError(step, f"{what}:{name}")


def clip_gradients(model: nn.Module, mode: str, threshold: float) -> float:
    """Clip in place; returns the global gradient norm before clipping."""
    if mode not in CLIP_MODES:
        raise ValueError(f"clip mode must be one of {CLIP_MODES}, got {mode!r}")
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    if mode == "norm":
        nn.utils.clip_grad_norm_(model.parameters(), threshold)
    elif mode == "value":
        nn.utils.clip_grad_value_(model.parameters(), threshold)
    return norm.item()


def _model(task: str, hidden_size: int, radius: float, seed: int, nonlinearity: str):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SequenceModel(TASKS[task], "rnn", hidden_size, nonlinearity=nonlinearity)
    set_spectral_radius(model.rnn, radius)
    return model


def train_with_clipping(
    mode: str,
    *,
    task: str = "adding",
    seq_len: int = 50,
    hidden_size: int = 32,
    radius: float = 3.0,
    nonlinearity: str = "tanh",
    threshold: float | None = None,
    lr: float = 0.1,
    steps: int = 300,
    batch_size: int = 32,
    seed: int = 0,
) -> dict:
    """Train a ``SequenceModel`` RNN (W_hh rescaled to ``radius``) with SGD.

    Args:
        mode: "none", "norm" (threshold default 1.0) or "value" (threshold default 0.1).
    Returns:
        {"mode", "threshold", "losses": [per step], "grad_norms": [per step, before
         clipping], "nonfinite": None or {"step", "where"}, "final_loss": mean of the last
         10 losses (nan if the run stopped), "eval_loss", "eval_accuracy" (200 fresh samples)}.
    """
    if threshold is None:
        threshold = {"none": math.inf, "norm": 1.0, "value": 0.1}[mode]
    model = _model(task, hidden_size, radius, seed, nonlinearity)
    gen = generator(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses, norms, nonfinite = [], [], None
    for step in range(steps):
        x, y = TASKS[task].sample(batch_size, seq_len, gen)
        try:
            loss = model.loss(model(x), y)
            check_finite(step, loss)
            opt.zero_grad()
            loss.backward()
            check_finite(step, model=model, what="grad")
            norm = clip_gradients(model, mode, threshold)
            norms.append(norm)
            if not math.isfinite(norm):  # every entry finite, but their norm overflows
                raise NonFiniteError(step, "grad_norm")
            opt.step()
            check_finite(step, model=model, what="param")
        except NonFiniteError as err:
            nonfinite = {"step": err.step, "where": err.where}
            break
        losses.append(loss.item())
    result = {
        "mode": mode,
        "threshold": threshold,
        "losses": losses,
        "grad_norms": norms,
        "nonfinite": nonfinite,
    }
    result["final_loss"] = (
        (sum(losses[-10:]) / len(losses[-10:])) if nonfinite is None else math.nan
    )
    with torch.no_grad():
        x, y = TASKS[task].sample(200, seq_len, gen)
        out = model(x)
        finite = nonfinite is None and bool(torch.isfinite(out).all())
        result["eval_loss"] = model.loss(out, y).item() if finite else math.nan
        result["eval_accuracy"] = model.accuracy(out, y) if finite else math.nan
    return result


def initial_gradient_norms(
    lengths: tuple[int, ...],
    *,
    task: str = "adding",
    hidden_size: int = 32,
    radius: float = 3.0,
    nonlinearity: str = "tanh",
    batch_size: int = 32,
    seed: int = 0,
) -> list[dict]:
    """The global gradient norm at initialisation for each sequence length."""
    out = []
    for T in lengths:
        model = _model(task, hidden_size, radius, seed, nonlinearity)
        x, y = TASKS[task].sample(batch_size, T, generator(seed))
        model.loss(model(x), y).backward()
        norm = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(p.grad) for p in model.parameters()])
        )
        out.append({"seq_len": T, "grad_norm": norm.item()})
    return out


def clipping_experiment(
    modes: tuple[str, ...] = CLIP_MODES,
    lengths: tuple[int, ...] = (5, 10, 20, 50, 100),
    seed: int = 0,
    **train_kwargs,
) -> dict:
    """Gradient norm at init against length, and one training run per clipping mode.

    Returns: {"config", "init_norms": [{seq_len, grad_norm}], "runs": [train_with_clipping]}.
    """
    shared = {
        k: train_kwargs[k]
        for k in ("task", "hidden_size", "radius", "nonlinearity")
        if k in train_kwargs
    }
    init = initial_gradient_norms(lengths, seed=seed, **shared)
    runs = [train_with_clipping(m, seed=seed, **train_kwargs) for m in modes]
    config = {"modes": list(modes), "lengths": list(lengths), "seed": seed, **train_kwargs}
    return {"config": config, "init_norms": init, "runs": runs}


def finding(result: dict) -> str:
    """One sentence stating what ``clipping_experiment`` measured."""
    init = result["init_norms"]
    parts = []
    for run in result["runs"]:
        if run["nonfinite"]:
            nf = run["nonfinite"]
            parts.append(f"{run['mode']}: stopped at step {nf['step']} (non-finite {nf['where']})")
        else:
            parts.append(
                f"{run['mode']}: eval loss {run['eval_loss']:.3g} after {len(run['losses'])} steps"
            )
    first, last = init[0], init[-1]
    return (
        f"At initialisation the gradient norm grows from {first['grad_norm']:.3g} at "
        f"T={first['seq_len']} to {last['grad_norm']:.3g} at T={last['seq_len']}; training: "
        + "; ".join(parts)
        + "."
    )


def clipping_over_seeds(
    seeds: tuple[int, ...] = tuple(range(10)),
    modes: tuple[str, ...] = CLIP_MODES,
    lengths: tuple[int, ...] = (5, 10, 20, 50, 100),
    *,
    progress=None,
    **train_kwargs,
) -> dict:
    """``clipping_experiment`` once per seed, summarised over seeds.

    One seed's numbers depend on the CPU's floating-point kernels and the thread count
    (at spectral radius 3 a last-bit difference grows exponentially), so the verdicts are
    made over seeds: per mode the share of runs that hit a NaN/inf, the evaluation loss of
    the runs that did not (mean, 95% bootstrap interval), and each pair of finishing modes
    compared with ``stats.compare``.

    Returns: {"config", "per_seed": [clipping_experiment results], "init_norms": [{seq_len,
    log10 summary}], "modes": [{mode, n_seeds, nonfinite, eval_loss summary or None}],
    "comparisons": [...]}.
    """
    per_seed = []
    for seed in seeds:
        r = clipping_experiment(modes, lengths, seed, **train_kwargs)
        per_seed.append(r)
        if progress is not None:
            progress(f"seed {seed}: " + finding(r))
    init = []
    for i, T in enumerate(lengths):
        logs = [math.log10(r["init_norms"][i]["grad_norm"]) for r in per_seed]
        init.append({"seq_len": T, "log10_grad_norm": stats.summarize(logs).to_dict()})
    summary, finished = [], {}
    for j, mode in enumerate(modes):
        runs = [r["runs"][j] for r in per_seed]
        losses = [
            x["eval_loss"] for x in runs if not x["nonfinite"] and math.isfinite(x["eval_loss"])
        ]
        if losses:
            finished[mode] = losses
        summary.append(
            {
                "mode": mode,
                "n_seeds": len(runs),
                "nonfinite": sum(bool(x["nonfinite"]) for x in runs),
                "eval_loss": stats.summarize(losses).to_dict() if losses else None,
            }
        )
    comparisons = []
    names = list(finished)
    for a_i, a in enumerate(names):
        for b in names[a_i + 1 :]:
            c = stats.compare(finished[a], finished[b], _LABELS.get(a, a), _LABELS.get(b, b))
            comparisons.append({"sentence": c.sentence("eval loss", 3), **c.to_dict()})
    config = {"seeds": list(seeds), "modes": list(modes), "lengths": list(lengths), **train_kwargs}
    return {
        "config": config,
        "per_seed": per_seed,
        "init_norms": init,
        "modes": summary,
        "comparisons": comparisons,
    }


def finding_over_seeds(result: dict) -> str:
    """One sentence from ``clipping_over_seeds``: the blow-up, NaN shares, and the verdicts."""
    init = result["init_norms"]
    first, last = init[0], init[-1]
    n = len(result["config"]["seeds"])

    def norm(entry):
        s = entry["log10_grad_norm"]
        return f"10^{s['mean']:.1f} [10^{s['ci_low']:.1f}, 10^{s['ci_high']:.1f}]"

    parts = []
    for m in result["modes"]:
        text = f"{m['mode']}: {m['nonfinite']}/{m['n_seeds']} runs hit NaN/inf"
        if m["eval_loss"]:
            e = m["eval_loss"]
            text += f", eval loss {e['mean']:.3g} [{e['ci_low']:.3g}, {e['ci_high']:.3g}]"
        parts.append(text)
    text = (
        f"Over {n} seeds, the gradient norm at initialisation grows from {norm(first)} at "
        f"T={first['seq_len']} to {norm(last)} at T={last['seq_len']}; training "
        + "; ".join(parts)
        + "."
    )
    for c in result["comparisons"]:
        text += " " + c["sentence"][0].upper() + c["sentence"][1:] + "."
    return text
