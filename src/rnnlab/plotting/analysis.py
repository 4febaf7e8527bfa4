"""Plots for the analysis experiments (``rnnlab.analysis``): each function takes the
data an experiment returned and writes one PNG. matplotlib (Agg) is imported inside
the functions, so importing this module costs nothing.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "plot_forget_bias",
    "plot_forget_bias_sweep",
    "plot_gradient_flow",
    "plot_spectral_radius",
    "plot_cell_path",
    "plot_clipping",
    "plot_compare_cells",
    "plot_gate_heatmap",
    "plot_state_gradients",
]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def _band(ax, xs, mean, std, label):
    lo = [m - s for m, s in zip(mean, std)]
    hi = [m + s for m, s in zip(mean, std)]
    (line,) = ax.plot(xs, mean, label=label)
    ax.fill_between(xs, lo, hi, alpha=0.2, color=line.get_color())


def plot_forget_bias(summary: list[dict], seq_len: int, loss_png, acc_png) -> tuple[Path, Path]:
    """Loss per epoch and accuracy every 5 epochs, mean +- std over seeds, one line per bias."""
    plt = _plt()
    rows = [s for s in summary if s["seq_len"] == seq_len]
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in rows:
        _band(
            ax,
            range(1, len(s["loss_mean"]) + 1),
            s["loss_mean"],
            s["loss_std"],
            f"forget bias {s['forget_bias']:g}",
        )
    ax.set(
        xlabel="epoch (one fresh batch)",
        ylabel="training loss",
        title=f"LSTM first-token copy, T = {seq_len}",
    )
    ax.legend()
    loss_path = _save(fig, loss_png)
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in rows:
        xs = [5 * (i + 1) for i in range(len(s["accuracy_mean"]))]
        _band(ax, xs, s["accuracy_mean"], s["accuracy_std"], f"forget bias {s['forget_bias']:g}")
    ax.set(
        xlabel="epoch",
        ylabel="accuracy (200 fresh samples)",
        ylim=(0, 1.02),
        title=f"LSTM first-token copy, T = {seq_len}",
    )
    ax.legend()
    return loss_path, _save(fig, acc_png)


def plot_forget_bias_sweep(summary: list[dict], png) -> Path:
    """Final accuracy (mean +- std over seeds) against sequence length, one line per bias."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for fb in sorted({s["forget_bias"] for s in summary}):
        rows = sorted((s for s in summary if s["forget_bias"] == fb), key=lambda s: s["seq_len"])
        ax.errorbar(
            [s["seq_len"] for s in rows],
            [s["final_accuracy_mean"] for s in rows],
            yerr=[s["final_accuracy_std"] for s in rows],
            marker="o",
            capsize=3,
            label=f"forget bias {fb:g}",
        )
    ax.set(
        xlabel="sequence length T",
        ylabel="final accuracy",
        ylim=(0, 1.02),
        title="First-token copy: final accuracy against T",
    )
    ax.legend()
    return _save(fig, png)


def plot_gradient_flow(flow: list[dict], png, key: str = "dL_dh") -> Path:
    """||dL/dh_t|| (log scale) against the distance T - t, one panel per cell, one line per
    length: straight lines are exponential decay, their slope the fitted rate."""
    plt = _plt()
    cells = list(dict.fromkeys(e["cell"] for e in flow))
    fig, axes = plt.subplots(
        1, len(cells), figsize=(4.5 * len(cells), 3.8), sharey=True, squeeze=False
    )
    for ax, cell in zip(axes[0], cells):
        for e in (e for e in flow if e["cell"] == cell):
            values = [v if v > 0 else float("nan") for v in e[key]]
            ax.semilogy(
                range(len(values) - 1, -1, -1),  # distance T - t from the loss
                values,
                label=f"T={e['seq_len']} (x{e['decay']['rate']:.3f}/step)",
            )
        ax.set(xlabel="distance T - t from the loss (steps)", title=cell.upper())
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("||dL/dh_t||  (loss at the last step)" if key == "dL_dh" else key)
    return _save(fig, png)


def plot_spectral_radius(spectral: list[dict], png) -> Path:
    """||dh_T/dh_t|| of a tanh RNN for several spectral radii of W_hh, and ||W^k||."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for s in spectral:
        T = len(s["jacobian"])
        dist = list(range(T - 1, -1, -1))
        (line,) = a1.semilogy(
            dist, s["jacobian"], label=f"rho={s['radius']:g} (x{s['decay']['rate']:.2f})"
        )
        a2.semilogy(
            range(T), s["power_norms"], color=line.get_color(), label=f"rho={s['radius']:g}"
        )
    a1.set(xlabel="distance T - t", ylabel="||dh_T/dh_t||", title="tanh RNN, W_hh rescaled")
    a2.set(xlabel="k", ylabel="||W_hh^k||_2", title="powers of W_hh")
    a1.legend(fontsize=7)
    a2.legend(fontsize=7)
    return _save(fig, png)


def plot_cell_path(cell_path: dict, png) -> Path:
    """Product of forget gates against the measured ||dc_T/dc_t|| (cell path only)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    T = len(cell_path["product_norm"])
    ax.semilogy(
        range(1, T + 1), cell_path["product_norm"], lw=3, alpha=0.5, label="prod f (forget gates)"
    )
    ax.semilogy(range(1, T + 1), cell_path["measured_norm"], "k--", label="measured ||dc_T/dc_t||")
    ax.set(
        xlabel="step t",
        ylabel="norm (mean over batch)",
        title=f"LSTM cell path, max |difference| = {cell_path['max_abs_difference']:.1e}",
    )
    ax.legend()
    return _save(fig, png)


def plot_clipping(result: dict, png) -> Path:
    """Gradient norm at init against T; loss and gradient norm per step for each clip mode."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    init = result["init_norms"]
    axes[0].semilogy([r["seq_len"] for r in init], [r["grad_norm"] for r in init], "o-")
    axes[0].set(xlabel="sequence length T", ylabel="||grad|| at init", title="blow-up")
    for run in result["runs"]:
        label = run["mode"] + (
            f" (non-finite at step {run['nonfinite']['step']})" if run["nonfinite"] else ""
        )
        axes[1].semilogy(run["losses"], label=label)
        axes[2].semilogy(run["grad_norms"], label=run["mode"])
        if run["nonfinite"]:
            axes[1].axvline(run["nonfinite"]["step"], color="r", ls=":")
    axes[1].set(xlabel="step", ylabel="training loss", title="training")
    axes[2].set(xlabel="step", ylabel="||grad|| before clipping", title="gradient norm")
    axes[1].legend(fontsize=7)
    axes[2].legend(fontsize=7)
    return _save(fig, png)


def plot_compare_cells(results: list[dict], png) -> Path:
    """Loss per epoch, one panel per task, one line per cell."""
    plt = _plt()
    tasks = list(dict.fromkeys(r["task"] for r in results))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.8 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for r in (r for r in results if r["task"] == task):
            ax.plot(
                range(1, len(r["losses"]) + 1),
                r["losses"],
                label=f"{r['cell'].upper()} (acc {r['final_accuracy']:.2f})",
            )
        T = next(r["seq_len"] for r in results if r["task"] == task)
        ax.set(xlabel="epoch", ylabel="training loss", title=f"{task}, T = {T}")
        ax.legend(fontsize=8)
    return _save(fig, png)


def plot_gate_heatmap(
    record: dict, tokens: list[str], png, sample: int = 0, max_units: int = 64
) -> Path:
    """Heat maps of each gate (and the cell state) over the tokens of one sample.

    record: one entry of ``rnnlab.analysis.record_gates`` (tensors (T, B, H)).
    """
    plt = _plt()
    names = [n for n in ("i", "f", "g", "o", "c", "r", "z", "n", "h") if n in record]
    fig, axes = plt.subplots(
        len(names), 1, figsize=(max(6, 0.35 * len(tokens) + 2), 2.2 * len(names)), squeeze=False
    )
    for ax, name in zip(axes[:, 0], names):
        data = record[name][:, sample, :max_units].detach().float().T.numpy()  # (H, T)
        signed = name in ("g", "n", "c", "h")
        im = ax.imshow(
            data,
            aspect="auto",
            cmap="RdBu_r" if signed else "viridis",
            vmin=-1 if signed else 0,
            vmax=1,
            interpolation="nearest",
        )
        ax.set_ylabel(f"{name}\nunit")
        ax.set_xticks(range(len(tokens)))
        ax.set_xticklabels(tokens, rotation=90, fontsize=7)
        fig.colorbar(im, ax=ax, fraction=0.02)
    return _save(fig, png)


def plot_state_gradients(norms: dict[str, list[float]], tokens: list[str], png) -> Path:
    """||dL/dh_t|| (and ||dL/dc_t||) over the tokens of one input, log scale."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(tokens) + 2), 3.8))
    for name, values in norms.items():
        ax.semilogy(
            range(len(values)),
            [v if v > 0 else float("nan") for v in values],
            "o-",
            label=f"||dL/d{name}_t||",
        )
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(tokens, rotation=90, fontsize=7)
    ax.set(ylabel="gradient norm", title="gradient flow from the loss at the last token")
    ax.legend()
    return _save(fig, png)
