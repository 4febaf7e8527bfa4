"""Training curves from a run's metrics.jsonl: loss per logged step and validation per epoch.

    plot_curves("runs/ptb-small/metrics.jsonl", "runs/ptb-small/curves.png")

One axis of optimizer steps:

* the training loss of every ``"train_interval"`` record (a running mean over the last
  ``train.log_interval`` steps) drawn faint, and its smoothed version (a debiased
  exponential moving average, as TensorBoard draws it) drawn solid;
* the per-epoch ``"train"`` means and ``"valid"`` values as markers at the step where each
  epoch ended;
* integer epoch ticks on a second x axis along the top, at those steps.

Runs that logged only per-epoch records get the markers joined by lines. Records without a
``step`` are placed at their epoch number. A resumed run's repeated steps keep their last value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["epoch_series", "step_series", "smooth", "curve_figure", "plot_curves"]


def epoch_series(records: list[dict[str, Any]], metric: str) -> dict[str, tuple[list, list]]:
    """``{split: (epochs, values)}`` of ``metric`` for the "train" and "valid" epoch records
    (a resumed run's repeated epochs keep their last value)."""
    series: dict[str, dict[int, float]] = {}
    for rec in records:
        split = rec.get("split")
        if split in ("train", "valid") and metric in rec.get("metrics", {}):
            series.setdefault(split, {})[int(rec["epoch"])] = float(rec["metrics"][metric])
    return {s: (sorted(v), [v[e] for e in sorted(v)]) for s, v in series.items()}


def step_series(records: list[dict[str, Any]], metric: str) -> dict[str, tuple[list, list]]:
    """``{split: (steps, values)}`` of ``metric`` for "train_interval", "train" and "valid"
    records, plus ``"epochs": (epoch-end steps, epoch numbers)`` from the epoch records.

    A record without ``step`` is placed at its ``epoch``; repeated steps keep the last value.
    """
    series: dict[str, dict[float, float]] = {}
    ends: dict[int, float] = {}
    for rec in records:
        split = rec.get("split")
        if split not in ("train_interval", "train", "valid"):
            continue
        x = rec.get("step", rec.get("epoch"))
        if x is None or metric not in rec.get("metrics", {}):
            continue
        series.setdefault(split, {})[float(x)] = float(rec["metrics"][metric])
        if split != "train_interval" and rec.get("epoch") is not None:
            ends[int(rec["epoch"])] = float(x)
    out = {s: (sorted(v), [v[x] for x in sorted(v)]) for s, v in series.items()}
    if ends:
        out["epochs"] = ([ends[e] for e in sorted(ends)], sorted(ends))
    return out


def smooth(values: list[float], weight: float = 0.8) -> list[float]:
    """Debiased exponential moving average: s_t = w s_{t-1} + (1 - w) v_t, divided by
    1 - w^t so that the first points are not pulled towards 0.

    >>> smooth([1.0, 3.0], weight=0.5)
    [1.0, 2.333333333333333]
    """
    if not 0 <= weight < 1:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    out, s = [], 0.0
    for t, v in enumerate(values, start=1):
        s = weight * s + (1 - weight) * v
        out.append(s / (1 - weight**t))
    return out


def _pick_metric(records: list[dict[str, Any]]) -> str:
    return "ppl" if any("ppl" in r.get("metrics", {}) for r in records) else "loss"


def curve_figure(records: list[dict[str, Any]], metric: str | None = None, title: str = ""):
    """The matplotlib figure of ``plot_curves`` (the caller closes it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    metric = metric or _pick_metric(records)
    series = step_series(records, metric)
    if not any(s in series for s in ("train_interval", "train", "valid")):
        raise ValueError(f"no train/valid records of {metric!r} to plot")
    fig, ax = plt.subplots(figsize=(7, 4))
    if "train_interval" in series:
        steps, values = series["train_interval"]
        (raw,) = ax.plot(steps, values, alpha=0.25, lw=0.8, label="train (every log step)")
        weight = 0.8 if len(values) > 20 else 0.5
        ax.plot(
            steps, smooth(values, weight), color=raw.get_color(), lw=1.8, label="train, smoothed"
        )
        if "train" in series:
            ax.plot(*series["train"], "o", color=raw.get_color(), ms=4, label="train, epoch mean")
    elif "train" in series:
        ax.plot(*series["train"], "o-", label="train, epoch mean")
    if "valid" in series:
        ax.plot(*series["valid"], "s-", color="tab:orange", ms=5, label="valid, per epoch")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if metric == "ppl":
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())  # 120, not 1.2x10^2
        ax.yaxis.set_minor_formatter(ScalarFormatter())
    if "epochs" in series:
        ends, epochs = series["epochs"]
        top = ax.secondary_xaxis("top")
        top.set_xticks(ends)
        top.set_xticklabels([str(e) for e in epochs])
        top.set_xlabel("epoch (ticks at each epoch's last step)")
        for x in ends:
            ax.axvline(x, color="0.85", lw=0.6, zorder=0)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_curves(
    jsonl_path: str | Path, png_path: str | Path, metric: str | None = None, title: str = ""
) -> Path:
    """Plot ``metric`` (default: "ppl" when logged, else "loss") from a metrics.jsonl.

    Perplexity is drawn on a log scale. Returns the PNG path.
    """
    import matplotlib.pyplot as plt

    from rnnlab.training.metrics import read_jsonl

    records = read_jsonl(jsonl_path)
    metric = metric or _pick_metric(records)
    try:
        fig = curve_figure(records, metric, title or Path(jsonl_path).parent.name)
    except ValueError as err:
        raise ValueError(f"{jsonl_path}: {err}") from None
    try:
        png_path = Path(png_path)
        png_path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png_path, dpi=100)
    finally:
        plt.close(fig)
    return png_path
