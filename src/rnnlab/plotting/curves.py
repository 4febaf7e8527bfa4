"""Training curves: train and validation loss (or perplexity) per epoch from a metrics.jsonl.

plot_curves("runs/ptb-small/metrics.jsonl", "runs/ptb-small/curves.png")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def epoch_series(records: list[dict[str, Any]], metric: str) -> dict[str, tuple[list, list]]:
    """``{split: (epochs, values)}`` of ``metric`` for the "train" and "valid" epoch records
    (a resumed run's repeated epochs keep their last value)."""
    series: dict[str, dict[int, float]] = {}
    for rec in records:
        split = rec.get("split")
        if split in ("train", "valid") and metric in rec.get("metrics", {}):
            series.setdefault(split, {})[int(rec["epoch"])] = float(rec["metrics"][metric])
    return {s: (sorted(v), [v[e] for e in sorted(v)]) for s, v in series.items()}


def plot_curves(
    jsonl_path: str | Path, png_path: str | Path, metric: str | None = None, title: str = ""
) -> Path:
    """Plot train/valid ``metric`` per epoch (default: "ppl" when logged, else "loss").

    Perplexity is drawn on a log scale. Returns the PNG path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    from rnnlab.training.metrics import read_jsonl

    records = read_jsonl(jsonl_path)
    if metric is None:
        metric = "ppl" if any("ppl" in r.get("metrics", {}) for r in records) else "loss"
    series = epoch_series(records, metric)
    if not series:
        raise ValueError(f"{jsonl_path} has no per-epoch train/valid records of {metric!r}")
    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        for split, (epochs, values) in sorted(series.items()):
            ax.plot(epochs, values, marker="o", label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        if metric == "ppl":
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(ScalarFormatter())  # 120, not 1.2x10^2
            ax.yaxis.set_minor_formatter(ScalarFormatter())
        ax.set_title(title or Path(jsonl_path).parent.name)
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        png_path = Path(png_path)
        png_path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png_path, dpi=100)
    finally:
        plt.close(fig)
    return png_path
