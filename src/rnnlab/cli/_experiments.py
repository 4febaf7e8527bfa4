"""The runners behind `rnnlab experiment NAME` (see ``rnnlab.cli.experiment``).

Each runner takes the parsed arguments and the output folder, calls the analysis code,
draws the figures, and returns (result dict for NAME.json, finding sentence, flat metrics).
"""

from __future__ import annotations

import re
from pathlib import Path

_SWEEP_LENGTHS = {"default": (5, 10, 20, 40), "long": (5, 10, 20, 40, 80, 160)}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _comparison_metrics(comparisons: list[dict]) -> dict:
    """Flat keys per comparison: n_seeds, difference, cliffs_delta, p_value, verdict."""
    flat = {}
    for c in comparisons:
        T = f"_T{c['seq_len']}" if "seq_len" in c else ""
        key = f"{_slug(c['name_a'])}_vs_{_slug(c['name_b'])}{T}"
        for field in ("n_seeds", "difference", "cliffs_delta", "p_value", "verdict"):
            flat[f"{key}_{field}"] = c[field]
    return flat


def _sweep_metrics(result: dict) -> dict:
    flat = {}
    for s in result["summary"]:
        key = f"accuracy_{_slug(s['condition'])}_T{s['seq_len']}"
        flat[f"{key}_mean"], flat[f"{key}_ci_low"] = s["mean"], s["ci_low"]
        flat[f"{key}_ci_high"], flat[f"{key}_n_seeds"] = s["ci_high"], s["n_seeds"]
    for name, edge in result["edges"].items():
        flat[f"longest_T_solved_{_slug(name)}"] = edge
    steps = {
        k.replace("_T", "_steps_T", 1): v
        for k, v in _comparison_metrics(result.get("step_comparisons", [])).items()
    }
    return {**flat, **_comparison_metrics(result["comparisons"]), **steps}


def _budget(args):
    from rnnlab.analysis.sweep import BUDGETS, with_budget

    budget = with_budget(
        BUDGETS[args.budget],
        steps=args.steps,
        hidden_size=args.hidden_size,
        lr=args.lr,
        batch_size=args.batch_size,
    )
    lengths = args.seq_lens or _SWEEP_LENGTHS[args.budget]
    return budget, lengths, tuple(range(args.seed, args.seed + (args.seeds or 10)))


def _sweep_figures(result: dict, out: Path, title: str) -> None:
    from rnnlab.plotting import experiments as plots

    plots.plot_sweep(result, out / "sweep.png", title)
    plots.plot_seed_curves(
        plots.sweep_curves(result),
        out / "accuracy_curves.png",
        "probe accuracy (solved runs carried on)",
        ylim=(0, 1.03),
    )


def _table(rows: list[tuple[str, str, str]], source: str = "the notes") -> str:
    lines = [f"| | {source} say{'s' if source == 'the book' else ''} | rnnlab measured |",
             "| --- | --- | --- |"]  # fmt: skip
    cells = [[cell.replace("|", "\\|") for cell in row] for row in rows]  # pipes in norms
    lines += [f"| {a} | {b} | {c} |" for a, b, c in cells]
    return "\n".join(lines)


def _write_table(out: Path, table: str) -> None:
    (out / "table.md").write_text(table + "\n")
    print(table)


def _run_forget_bias(args, out: Path):
    from rnnlab.analysis import forget_bias as fb
    from rnnlab.analysis.sweep import length_sweep

    if args.preset == "sweep":
        budget, lengths, seeds = _budget(args)
        conditions = fb.sweep_conditions(args.biases)
        result = length_sweep(
            conditions,
            "copy",
            lengths,
            seeds,
            budget,
            threshold=args.threshold,
            pairs=[(conditions[0].name, conditions[-1].name)],
            stop_at_edge=args.stop_at_edge,
            progress=print,
        )
        _sweep_figures(result, out, "LSTM on first-token copy: forget bias against T")
        return result, fb.finding(result), _sweep_metrics(result)
    from rnnlab.plotting.experiments import plot_seed_curves

    seeds = tuple(range(args.seed, args.seed + (args.seeds or 20)))
    result = fb.forget_bias_experiment(
        args.biases,
        args.seq_lens or (20,),
        seeds,
        progress=print,
        hidden_size=args.hidden_size or 128,
        epochs=args.epochs,
    )
    for key, png, ylabel, every in (
        ("losses", "loss.png", "training loss", 1),
        ("accuracies", "accuracy.png", "accuracy (200 fresh samples)", 5),
    ):
        curves: dict = {}
        for r in result["runs"]:
            panel = curves.setdefault(f"T = {r['seq_len']}", {})
            xs = [every * (i + 1) for i in range(len(r[key]))]
            panel.setdefault(r["condition"], (xs, []))[1].append(r[key])
        plot_seed_curves(curves, out / png, ylabel, xlabel="epoch (one batch of 64)")
    rows = []
    for c in result["comparisons"]:
        rows.append(
            (
                f"final accuracy at T={c['seq_len']} (mean of the last 4 evaluations)",
                f"{c['name_a']} learns the task, {c['name_b']} does not",
                f"{c['name_a']} {_ci(c['a'])} vs {c['name_b']} {_ci(c['b'])}: {c['verdict']} "
                f"(p = {c['p_value']:.2g}, {c['n_seeds']} seeds)",
            )
        )
    _write_table(out, _table(rows))
    metrics = {
        f"accuracy_{_slug(s['condition'])}_T{s['seq_len']}_{k}": s[k]
        for s in result["summary"]
        for k in ("mean", "ci_low", "ci_high", "n_seeds")
    }
    return result, fb.finding(result), {**metrics, **_comparison_metrics(result["comparisons"])}


def _ci(summary: dict, digits: int = 2) -> str:
    return (
        f"{summary['mean']:.{digits}f} [{summary['ci_low']:.{digits}f}, "
        f"{summary['ci_high']:.{digits}f}]"
    )


def _run_compare_cells(args, out: Path):
    from rnnlab.analysis import compare_cells as cc

    if args.preset == "seed":
        return _run_long_sequence(args, out)
    budget, lengths, seeds = _budget(args)
    result = cc.compare_cells_experiment(
        args.task, lengths, seeds, budget, args.cells, threshold=args.threshold,
        stop_at_edge=args.stop_at_edge, progress=print,
    )  # fmt: skip
    _sweep_figures(result, out, f"{args.task}: RNN vs LSTM vs GRU against T")
    _write_table(out, cc.markdown_table(result["costs"], result["edges"]))
    return result, cc.finding(result), _sweep_metrics(result)


def _run_long_sequence(args, out: Path):
    from rnnlab.analysis import long_sequence as ls
    from rnnlab.plotting.experiments import plot_gradient_norms, plot_long_sequence

    cmp = ls.compare_models_on_long_sequence(
        args.cells, seq_len=args.seq_len, epochs=args.epochs, seed=args.seed, progress=print
    )
    grad = ls.test_long_sequence(seq_len=args.grad_seq_len, steps=args.grad_steps, seed=args.seed)
    plot_long_sequence(cmp, out / "loss.png")
    plot_gradient_norms(grad, out / "grad_norm.png")
    table, metrics = long_sequence_table(cmp, grad)
    _write_table(out, table)
    return {"long_sequence": cmp, "gradient": grad}, ls.finding(cmp, grad), metrics


def long_sequence_table(cmp: dict, grad: dict) -> tuple[str, dict]:
    """The notes-003 "the notes say / rnnlab measured" table and its flat metrics."""
    from rnnlab.analysis import long_sequence as ls

    seq_len, grad_len = cmp["config"]["seq_len"], grad["config"]["seq_len"]
    rows, metrics = [], {}
    for r in cmp["results"]:
        at = r["loss_at_80"]
        measured = f"{at:.3f}" if at is not None else f"not reached ({len(r['losses'])} epochs)"
        measured += f"; last epoch {r['losses'][-1]:.3f}, accuracy {r['final_accuracy']:.2f}"
        notes = r["notes_loss_at_80"]
        rows.append(
            (
                f"{r['cell'].upper()} loss at epoch 80, T={seq_len:,}",
                f"{notes:.2f}" if notes is not None else "-",
                measured + f" ({r['cpu_s_per_epoch']:.1f} s CPU / epoch)",
            )
        )
        metrics[f"loss_at_80_{r['cell']}"] = at
        metrics[f"last_loss_{r['cell']}"] = r["losses"][-1]
        metrics[f"cpu_s_per_epoch_{r['cell']}"] = r["cpu_s_per_epoch"]
    rows.append(
        (
            f"RNN gradient at T={grad_len:,}",
            "the gradient norm during training (printed per step)",
            f"||grad|| median {sorted(grad['grad_norms'])[len(grad['grad_norms']) // 2]:.3g} over "
            f"{len(grad['grad_norms'])} steps; ||dL/dh_1|| / ||dL/dh_T|| = "
            f"{ls.ratio_text(grad)}"
            + (f" (x{grad['decay']['rate']:.3f} per step)" if grad["ratio_first_to_last"] else ""),
        )
    )
    metrics.update(
        grad_ratio_first_to_last=grad["ratio_first_to_last"], grad_decay=grad["decay"]["rate"]
    )
    return _table(rows), metrics


def _run_gradient_flow(args, out: Path):
    from rnnlab.analysis import gradient_flow_experiment as gf
    from rnnlab.plotting import analysis as plots

    seed_preset = args.preset == "seed"
    radii = args.radii or ((0.9, 1.1) if seed_preset else (0.5, 0.9, 1.0, 1.1, 1.5, 2.0, 3.0))
    result = gf.gradient_flow_experiment(
        lengths=args.lengths,
        hidden_size=args.hidden_size,
        forget_bias=args.forget_bias,
        radii=radii,
        radius_seq_len=args.radius_seq_len,
        seed=args.seed,
    )
    plots.plot_gradient_flow(result["flow"], out / "gradient_flow.png")
    plots.plot_spectral_radius(result["spectral"], out / "spectral_radius.png")
    plots.plot_cell_path(result["cell_path"], out / "cell_path.png")
    metrics = {f"decay_{e['cell']}_T{e['seq_len']}": e["decay"]["rate"] for e in result["flow"]}
    cp = result["cell_path"]
    metrics["cell_path_max_abs_difference"] = cp["max_abs_difference"]
    metrics["cell_path_full_max_abs_difference"] = cp["full_max_abs_difference"]
    if seed_preset:
        rows = []
        for s in result["spectral"]:
            k = len(s["power_norms"]) - 1
            trend = "shrinks to 0" if s["radius"] < 1 else "grows without bound"
            rows.append(
                (
                    f"||W_hh^k||_2, spectral radius {s['radius']:g}",
                    f"{trend} as k grows",
                    f"{s['power_norms'][k]:.3g} at k={k} ({s['radius']:g}^{k} = "
                    f"{s['radius'] ** k:.3g})",
                )
            )
        rows.append(
            (
                f"prod f vs dC_T/dC_t, T={cp['seq_len']}",
                "the product of forget gates is the cell-path gradient",
                f"equal to {cp['max_abs_difference']:.1e} with h cut from the gates (by "
                f"construction); the full Jacobian differs by up to "
                f"{cp['full_max_abs_difference']:.2g}",
            )
        )
        _write_table(out, _table(rows))
    return result, gf.finding(result), metrics


def _run_clipping(args, out: Path):
    from rnnlab.analysis import clipping as cl
    from rnnlab.plotting import analysis as plots
    from rnnlab.plotting.experiments import plot_clipping_seeds

    result = cl.clipping_over_seeds(
        tuple(range(args.seed, args.seed + args.seeds)),
        lengths=args.lengths,
        hidden_size=args.hidden_size,
        radius=args.radius,
        seq_len=args.seq_len,
        steps=args.steps,
        lr=args.lr,
        task=args.task,
        progress=print,
    )
    plots.plot_clipping(result["per_seed"][0], out / f"clipping_seed{args.seed}.png")
    plot_clipping_seeds(result, out / "clipping_seeds.png")
    metrics = {}
    for m in result["modes"]:
        metrics[f"nonfinite_runs_{m['mode']}"] = m["nonfinite"]
        if m["eval_loss"]:
            for k in ("mean", "ci_low", "ci_high", "n"):
                metrics[f"eval_loss_{m['mode']}_{k}"] = m["eval_loss"][k]
    metrics.update(_comparison_metrics(result["comparisons"]))
    return result, cl.finding_over_seeds(result), metrics


def _run_seq2seq_variants(args, out: Path):
    from rnnlab.analysis import seq2seq_variants as sv
    from rnnlab.analysis.sweep import with_budget
    from rnnlab.plotting.experiments import plot_seed_curves

    name = "seed" if args.preset == "seed" else args.budget
    budget = with_budget(
        sv.BUDGETS[name],
        epochs=args.epochs,
        train_size=args.train_size,
        test_size=args.test_size,
        hidden_size=args.hidden_size,
        lr=args.lr,
    )
    seeds = tuple(range(args.seed, args.seed + args.seeds))
    result = sv.seq2seq_variants_experiment(args.conditions, seeds, budget, progress=print)
    curves: dict = {}
    xs = list(range(1, budget.epochs + 1))
    for r in result["runs"]:
        curves.setdefault(r["condition"], (xs, []))[1].append(r["accuracies"])
    panel = f"addition, {budget.train_size:,} train / {budget.test_size:,} held-out pairs"
    plot_seed_curves(
        {panel: curves},
        out / "accuracy.png",
        "exact match (greedy, held-out)",
        xlabel="epoch",
        ylim=(0, 1.03),
    )
    versus = {c["name_a"]: c for c in result["comparisons"]}
    rows = []
    for s in result["summary"]:
        measured = f"{_ci(s)}"
        if s["condition"] in versus:
            c = versus[s["condition"]]
            measured += f"; vs basic: {c['verdict']} (p = {c['p_value']:.2g})"
        label = f"{s['condition']} ({sv.DESCRIPTIONS[s['condition']]})"
        rows.append((label, s["book"], measured + f", {s['n_seeds']} seeds"))
    _write_table(out, _table(rows, "the book") + "\n\n" + _book_note(budget, sv.BUDGETS["seed"]))
    metrics = {
        f"accuracy_{_slug(s['condition'])}_{k}": s[k]
        for s in result["summary"]
        for k in ("mean", "ci_low", "ci_high", "n_seeds")
    }
    return result, sv.finding(result), {**metrics, **_comparison_metrics(result["comparisons"])}


def _book_note(budget, book) -> str:
    """Says whether this run is at the book's scale (its numbers are for 25 epochs there)."""
    if budget == book:
        return "This run uses the book's settings (--preset seed)."
    return (
        f"The book's column is for its full scale (45,000 pairs, 25 epochs, H = 128, lr 0.001); "
        f"this run: {budget.train_size:,} pairs, {budget.epochs} epochs, H = {budget.hidden_size}, "
        f"lr {budget.lr:g}, batch {budget.batch_size}."
    )


RUNNERS = {
    "forget-bias": _run_forget_bias,
    "gradient-flow": _run_gradient_flow,
    "clipping": _run_clipping,
    "compare-cells": _run_compare_cells,
    "seq2seq-variants": _run_seq2seq_variants,
}
