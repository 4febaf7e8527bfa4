"""A confusion matrix as a PNG: rows are the true classes, columns the predicted ones."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def plot_confusion(confusion, names: Sequence[str], png_path: str | Path, title: str = "") -> Path:
    """Draw counts (C, C) with each row normalised to the share of its true class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [[int(v) for v in row] for row in confusion.tolist()]
    shares = [[v / max(1, sum(row)) for v in row] for row in counts]
    size = max(4.0, 0.45 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(names)), names, rotation=90 if len(names) > 4 else 0)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(names) <= 20:
        for i, row in enumerate(counts):
            for j, v in enumerate(row):
                color = "white" if shares[i][j] > 0.5 else "black"
                ax.text(j, i, str(v), ha="center", va="center", fontsize=8, color=color)
    ax.set_title(title or "confusion matrix")
    fig.tight_layout()
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path
