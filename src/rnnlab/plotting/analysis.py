"""Plots for the analysis experiments (``rnnlab.analysis``): each function takes the
data an experiment returned and writes one PNG. matplotlib (Agg) is imported inside
the functions, so importing this module costs nothing.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "plot_gradient_flow",
    "plot_spectral_radius",
    "plot_cell_path",
    "plot_clipping",
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


_STYLES = ["-", "--", "-.", ":", (0, (1, 3)), (0, (5, 1))]


def plot_gradient_flow(flow: list[dict], png, key: str = "dL_dh") -> Path:
    """||dL/dh_t|| (log scale) against the distance T - t, one panel per cell, one line per
    length: straight lines are exponential decay, their slope the fitted rate.

    Lines of different T often coincide (the decay per step does not depend on T): the
    longest is drawn widest and faint, shorter ones narrower with their own dash, so each
    stays visible. A curve that underflows (norm exactly 0 even in float64) ends with an x
    and its legend says after how many steps.
    """
    plt = _plt()
    cells = list(dict.fromkeys(e["cell"] for e in flow))
    fig, axes = plt.subplots(
        1, len(cells), figsize=(4.5 * len(cells), 3.8), sharey=True, squeeze=False
    )
    for ax, cell in zip(axes[0], cells):
        entries = sorted((e for e in flow if e["cell"] == cell), key=lambda e: -e["seq_len"])
        for i, e in enumerate(entries):
            values = [v if v > 0 else float("nan") for v in e[key]]
            distance = list(range(len(values) - 1, -1, -1))  # T - t from the loss
            label = f"T={e['seq_len']} (x{e['decay']['rate']:.3f}/step)"
            zeros = [d for d, v in zip(distance, e[key]) if not v > 0]
            if zeros:
                label += f", 0 beyond {min(zeros)} steps (underflow)"
            (line,) = ax.semilogy(
                distance,
                values,
                ls=_STYLES[i % len(_STYLES)],
                lw=1.0 + 2.5 * (len(entries) - 1 - i) / max(1, len(entries) - 1),
                alpha=0.9 if i else 0.45,
                label=label,
            )
            if zeros:
                last = max(d for d, v in zip(distance, e[key]) if v > 0)
                ax.semilogy([last], [e[key][len(values) - 1 - last]], "x", color=line.get_color())
        ax.set(xlabel="distance T - t from the loss (steps)", title=cell.upper())
        ax.legend(fontsize=6)
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
    """Product of forget gates against dc_T/dc_t measured with h cut from the gates (equal
    by construction) and measured in full (all paths)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    T = len(cell_path["product_norm"])
    ax.semilogy(
        range(1, T + 1), cell_path["product_norm"], lw=3, alpha=0.5, label="prod f (forget gates)"
    )
    ax.semilogy(
        range(1, T + 1),
        cell_path["measured_norm"],
        "k--",
        label=f"dc_T/dc_t, h cut from the gates (by construction; max error "
        f"{cell_path['max_abs_difference']:.1e})",
    )
    if "full_norm" in cell_path:
        ax.semilogy(
            range(1, T + 1),
            cell_path["full_norm"],
            "r:",
            label=f"full dc_T/dc_t, all paths (max |difference| "
            f"{cell_path['full_max_abs_difference']:.2g})",
        )
    ax.set(
        xlabel="step t",
        ylabel="max over units |diagonal| (mean over batch)",
        title="LSTM cell path: forget-gate product vs measured Jacobian",
    )
    ax.legend(fontsize=7)
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


def plot_gate_heatmap(
    record: dict, tokens: list[str], png, sample: int = 0, max_units: int = 64, title: str = ""
) -> Path:
    """Heat maps of each gate (and the cell state) over the tokens of one sample.

    record: one entry of ``rnnlab.analysis.record_gates`` (tensors (T, B, H)).
    Gates in (0, 1) share the scale 0..1; signed values (g, n, h in (-1, 1)) share -1..1;
    the cell state c is unbounded and gets a symmetric scale of its own largest |c|.
    title: e.g. "model LanguageModel, layer rnn (LSTM) 0 forward, units 0-63 of 200".
    """
    if max_units < 1:
        raise ValueError(f"max_units must be >= 1, got {max_units}")
    plt = _plt()
    names = [n for n in ("i", "f", "g", "o", "c", "r", "z", "n", "h") if n in record]
    fig, axes = plt.subplots(
        len(names),
        1,
        figsize=(max(6, 0.35 * len(tokens) + 2), 2.2 * len(names) + 0.6),
        squeeze=False,
    )
    for ax, name in zip(axes[:, 0], names):
        data = record[name][:, sample, :max_units].detach().float().T.numpy()  # (H, T)
        if name == "c":
            bound = max(float(abs(data).max()), 1e-6)
            scale = {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
        elif name in ("g", "n", "h"):
            scale = {"cmap": "RdBu_r", "vmin": -1, "vmax": 1}
        else:
            scale = {"cmap": "viridis", "vmin": 0, "vmax": 1}
        im = ax.imshow(data, aspect="auto", interpolation="nearest", **scale)
        ax.set_ylabel(f"{name}\nunit")
        ax.set_xticks(range(len(tokens)))
        ax.set_xticklabels(tokens, rotation=90, fontsize=7)
        fig.colorbar(im, ax=ax, fraction=0.02)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, png)


def plot_state_gradients(norms: dict[str, list[float]], tokens: list[str], png) -> Path:
    """||dL/dh_t|| (and ||dL/dc_t||) over the tokens of one input, log scale."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(tokens) + 2), 3.8))
    for name, values in norms.items():
        zeros = sum(1 for v in values if not v > 0)
        ax.semilogy(
            range(len(values)),
            [v if v > 0 else float("nan") for v in values],
            "o-",
            label=f"||dL/d{name}_t||" + (f" (0 at {zeros} tokens: underflow)" if zeros else ""),
        )
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(tokens, rotation=90, fontsize=7)
    ax.set(ylabel="gradient norm", title="gradient flow from the loss at the last token")
    ax.legend()
    return _save(fig, png)
