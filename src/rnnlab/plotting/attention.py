"""An attention matrix as a PNG: source pieces along x, target pieces along y."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def plot_attention(
    weights, source: Sequence[str], target: Sequence[str], png_path: str | Path, title: str = ""
) -> Path:
    """Draw ``weights`` (T, Ts), row t = where the decoder looked when it emitted target[t]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [[float(v) for v in row] for row in weights.tolist()]
    if len(rows) != len(target) or any(len(r) != len(source) for r in rows):
        shape = (len(rows), len(rows[0]) if rows else 0)
        raise ValueError(
            f"expected weights of shape ({len(target)}, {len(source)}) (target x source), "
            f"got {shape}"
        )
    width = min(24.0, max(5.0, 0.4 * len(source) + 2))
    height = min(24.0, max(3.0, 0.4 * len(target) + 1.5))
    fig, ax = plt.subplots(figsize=(width, height))
    image = ax.imshow(rows, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), list(source), rotation=60, ha="right")
    ax.set_yticks(range(len(target)), list(target))
    ax.set_xlabel("source")
    ax.set_ylabel("target (generated)")
    fig.colorbar(image, ax=ax, fraction=0.04, label="attention weight")
    ax.set_title(title or "attention", fontsize=10)
    fig.tight_layout()
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path
