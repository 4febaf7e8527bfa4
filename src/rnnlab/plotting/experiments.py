"""Plots of experiments run over seeds: every seed drawn faintly, the mean with its band.

* ``plot_sweep``: accuracy against sequence length per condition (``length_sweep``): one
  faint dot per seed, the mean joined by a line, its 95% bootstrap interval as a band, the
  "solved" threshold and chance as dashed lines;
* ``plot_seed_curves``: a training curve per seed (faint) and, per condition, the mean over
  seeds with a 95% bootstrap band at each point, one panel per sequence length;
* ``plot_long_sequence``: the notes-003 losses per epoch, with the notes' epoch-80 values;
  ``plot_gradient_norms``: the notes-003 RNN gradient norm per step.

matplotlib (Agg) is imported inside the functions.
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.analysis import stats
from rnnlab.plotting.analysis import _plt, _save

__all__ = [
    "plot_sweep",
    "plot_seed_curves",
    "plot_long_sequence",
    "plot_gradient_norms",
    "plot_clipping_seeds",
    "sweep_curves",
]


def plot_sweep(result: dict, png, title: str = "") -> Path:
    """Final accuracy against T (log axis), per condition, from ``length_sweep``'s result."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    names = list(dict.fromkeys(s["condition"] for s in result["summary"]))
    for i, name in enumerate(names):
        rows = sorted(
            (s for s in result["summary"] if s["condition"] == name), key=lambda s: s["seq_len"]
        )
        Ts = [s["seq_len"] for s in rows]
        shift = 1 + 0.04 * (i - (len(names) - 1) / 2)  # side by side on the log axis
        (line,) = ax.plot(Ts, [s["mean"] for s in rows], "o-", label=f"{name} (mean, 95% CI)")
        ax.fill_between(
            Ts,
            [s["ci_low"] for s in rows],
            [s["ci_high"] for s in rows],
            color=line.get_color(),
            alpha=0.18,
        )
        for s in rows:
            ax.plot(
                [s["seq_len"] * shift] * len(s["values"]),
                s["values"],
                ".",
                color=line.get_color(),
                alpha=0.35,
                ms=5,
            )
    cfg = result["config"]
    ax.axhline(
        cfg["threshold"], color="0.4", ls="--", lw=0.8, label=f"solved (>= {cfg['threshold']:g})"
    )
    chance = result["summary"][0]["chance"]
    ax.axhline(chance, color="0.6", ls=":", lw=0.8, label=f"chance ({chance:.2f})")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(cfg["lengths"])
    ax.set_xticklabels([str(T) for T in cfg["lengths"]])
    ax.set(
        xlabel="sequence length T",
        ylabel="final accuracy (dots: seeds)",
        ylim=(0, 1.03),
        title=title or f"{cfg['task']}: accuracy against T, {len(cfg['seeds'])} seeds",
    )
    ax.legend(fontsize=7)
    return _save(fig, png)


def _band(values_per_seed: list[list[float]]) -> tuple[list[float], list[float], list[float]]:
    """(mean, ci_low, ci_high) at each point over seeds (curves of equal length)."""
    means, lows, highs = [], [], []
    for column in zip(*values_per_seed):
        s = stats.summarize(column)
        means.append(s.mean)
        lows.append(s.ci_low)
        highs.append(s.ci_high)
    return means, lows, highs


def plot_seed_curves(curves: dict, png, ylabel: str, xlabel: str = "step", ylim=None) -> Path:
    """curves: {panel title: {condition: (xs, [curve per seed])}}; curves of one condition
    share xs. One panel per title; seeds faint, mean and 95% band solid."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.6), squeeze=False)
    for ax, (panel, by_condition) in zip(axes[0], curves.items()):
        for name, (xs, per_seed) in by_condition.items():
            mean, lo, hi = _band(per_seed)
            (line,) = ax.plot(xs, mean, lw=2, label=f"{name} (mean of {len(per_seed)})")
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.2)
            for curve in per_seed:
                ax.plot(xs, curve, color=line.get_color(), alpha=0.15, lw=0.7)
        ax.set(title=panel, xlabel=xlabel, ylabel=ylabel if ax is axes[0][0] else "")
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend(fontsize=7)
    return _save(fig, png)


def sweep_curves(result: dict) -> dict:
    """``plot_seed_curves`` input from ``length_sweep`` runs: probe accuracy per eval step,
    a run that stopped once solved carried at its last value to the end of the budget."""
    budget = result["config"]["budget"]
    xs = list(range(budget["eval_every"], budget["steps"] + 1, budget["eval_every"]))
    curves: dict = {}
    for r in result["runs"]:
        acc = [point[1] for point in r["curve"]] or [r["final_accuracy"]]
        acc = acc + [acc[-1]] * (len(xs) - len(acc))
        panel = curves.setdefault(f"T = {r['seq_len']}", {})
        panel.setdefault(r["condition"], (xs, []))[1].append(acc[: len(xs)])
    return curves


def plot_long_sequence(result: dict, png) -> Path:
    """Training loss per epoch for each cell (notes 003), the notes' epoch-80 values marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in result["results"]:
        (line,) = ax.plot(range(1, len(r["losses"]) + 1), r["losses"], label=r["cell"].upper())
        if r["notes_loss_at_80"] is not None:
            ax.plot(
                [80],
                [r["notes_loss_at_80"]],
                "*",
                ms=11,
                color=line.get_color(),
                label=f"{r['cell'].upper()}, the notes at epoch 80",
            )
    cfg = result["config"]
    ax.set(
        xlabel="epoch (one fresh batch)",
        ylabel="training loss",
        title=f"mean sign, T = {cfg['seq_len']:,}, batch {cfg['batch_size']}, "
        f"H = {cfg['hidden_size']}",
    )
    ax.legend(fontsize=7)
    return _save(fig, png)


def plot_gradient_norms(result: dict, png) -> Path:
    """The notes-003 RNN run: gradient norm per training step (log scale)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    norms = result["grad_norms"]
    ax.semilogy(range(1, len(norms) + 1), norms, "o-")
    cfg = result["config"]
    ax.set(
        xlabel="training step",
        ylabel="||grad|| (all parameters)",
        title=f"tanh RNN, T = {cfg['seq_len']:,}: ||dL/dh_1|| / ||dL/dh_T|| = "
        f"{result['ratio_first_to_last']:.2g}",
    )
    return _save(fig, png)


def plot_clipping_seeds(result: dict, png) -> Path:
    """``clipping_over_seeds``: the evaluation loss of every seed per clipping mode (dots), the
    mean with its 95% bootstrap interval, and how many seeds hit NaN/inf; and the gradient
    norm at initialisation against T, per seed (faint) and its mean in log10."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for i, m in enumerate(result["modes"]):
        if m["eval_loss"]:
            e = m["eval_loss"]
            a1.plot([i] * len(e["values"]), e["values"], ".", alpha=0.4, color=f"C{i}")
            a1.errorbar(
                [i + 0.15],
                [e["mean"]],
                yerr=[[e["mean"] - e["ci_low"]], [e["ci_high"] - e["mean"]]],
                fmt="o",
                color=f"C{i}",
                capsize=4,
            )
    a1.set_xticks(range(len(result["modes"])))
    a1.set_xticklabels(
        [f"{m['mode']}\n({m['nonfinite']}/{m['n_seeds']} hit NaN/inf)" for m in result["modes"]]
    )
    steps = result["config"].get("steps", "")
    a1.set(ylabel="eval loss (dots: seeds; mean, 95% CI)", title=f"after {steps} training steps")
    Ts = [e["seq_len"] for e in result["init_norms"]]
    for run in result["per_seed"]:
        a2.semilogy(Ts, [r["grad_norm"] for r in run["init_norms"]], color="C0", alpha=0.2)
    a2.semilogy(
        Ts,
        [10 ** e["log10_grad_norm"]["mean"] for e in result["init_norms"]],
        "o-",
        color="C0",
        lw=2,
        label="geometric mean over seeds",
    )
    a2.set(xlabel="sequence length T", ylabel="||grad|| at initialisation", title="blow-up")
    a2.legend(fontsize=7)
    return _save(fig, png)
