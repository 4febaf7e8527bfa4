"""`rnnlab experiment NAME`: the classic recurrent-network experiments, measured.

    rnnlab experiment forget-bias    [--biases 0,1] [--seeds 3] [--seq-lens 5,10,20] ...
    rnnlab experiment gradient-flow  [--lengths 10,30,100,300,1000] [--hidden-size 32] ...
    rnnlab experiment clipping       [--radius 3] [--steps 300] ...
    rnnlab experiment compare-cells  [--tasks copy:20,adding:50] [--epochs 30] ...

Each writes NAME.json (data, config, finding, wall time) next to its PNGs in --out
(default runs/experiments/NAME), prints its finding in one sentence computed from the
numbers, and with --metrics-out writes flat JSON metrics. Thin: the work is in
``rnnlab.analysis`` (data) and ``rnnlab.plotting.analysis`` (figures).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v.strip())


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def _tasks(text: str) -> dict[str, int]:
    """ "copy:20,adding:50" -> {"copy": 20, "adding": 50}."""
    out = {}
    for item in text.split(","):
        name, _, length = item.partition(":")
        if not length:
            raise argparse.ArgumentTypeError(f"expected TASK:LENGTH, got {item!r}")
        out[name.strip()] = int(length)
    return out


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "experiment",
        help="run a classic RNN experiment (forget bias, gradient flow, clipping, cells)",
        description="Run one of the analysis experiments; writes JSON and PNGs and prints "
        "the measured finding.",
    )
    sub = p.add_subparsers(dest="experiment", metavar="NAME", required=True)

    def common(name: str, help_text: str) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=help_text, description=help_text)
        q.add_argument(
            "--out", default=None, help=f"output folder (default runs/experiments/{name})"
        )
        q.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        q.add_argument("--metrics-out", default=None, help="also write flat JSON metrics here")
        q.add_argument(
            "--threads",
            type=int,
            default=1,
            help="torch CPU threads (default 1: these models are too small to gain more)",
        )
        q.set_defaults(func=run, name=name)
        return q

    q = common("forget-bias", "LSTM forget-gate bias 0 vs 1 on first-token copy")
    q.add_argument("--biases", type=_floats, default=(0.0, 1.0), help="comma list (default 0,1)")
    q.add_argument("--seeds", type=int, default=3, help="seeds per setting (default 3)")
    q.add_argument("--seq-lens", type=_ints, default=(5, 10, 20), help="default 5,10,20")
    q.add_argument("--hidden-size", type=int, default=128)
    q.add_argument("--epochs", type=int, default=200)
    q.add_argument("--vocab-size", type=int, default=5)

    q = common("gradient-flow", "||dL/dh_t|| over time for RNN, LSTM, GRU; spectral radius")
    q.add_argument("--lengths", type=_ints, default=(10, 30, 100, 300, 1000))
    q.add_argument("--hidden-size", type=int, default=32)
    q.add_argument("--forget-bias", type=float, default=1.0, help="LSTM forget bias (default 1)")
    q.add_argument("--radii", type=_floats, default=(0.5, 0.9, 1.0, 1.1, 1.5, 2.0, 3.0))
    q.add_argument("--radius-seq-len", type=int, default=100, help="T of the radius sweep")

    q = common("clipping", "exploding gradients: no clipping vs norm vs value clipping")
    q.add_argument("--radius", type=float, default=3.0, help="spectral radius of W_hh")
    q.add_argument("--seq-len", type=int, default=50)
    q.add_argument("--steps", type=int, default=300)
    q.add_argument("--lr", type=float, default=0.1, help="SGD learning rate")
    q.add_argument("--task", default="adding")
    q.add_argument("--hidden-size", type=int, default=32)
    q.add_argument(
        "--lengths",
        type=_ints,
        default=(5, 10, 20, 50, 100),
        help="lengths of the gradient-norm-at-init sweep",
    )

    q = common("compare-cells", "RNN vs LSTM vs GRU on long-range tasks")
    q.add_argument(
        "--tasks",
        type=_tasks,
        default={"copy": 20, "adding": 50, "mean_sign": 100},
        help="TASK:LENGTH list from copy, recall, parity, mean_sign, adding",
    )
    q.add_argument("--epochs", type=int, default=30)
    q.add_argument("--hidden-size", type=int, default=64)
    q.add_argument("--device", default="cpu")


def _run_forget_bias(args, out: Path):
    from rnnlab.analysis import forget_bias as fb
    from rnnlab.plotting import analysis as plots

    result = fb.forget_bias_experiment(
        args.biases,
        args.seq_lens,
        tuple(range(args.seed, args.seed + args.seeds)),
        progress=print,
        hidden_size=args.hidden_size,
        epochs=args.epochs,
        vocab_size=args.vocab_size,
    )
    main_T = 20 if 20 in args.seq_lens else args.seq_lens[0]
    plots.plot_forget_bias(result["summary"], main_T, out / "loss.png", out / "accuracy.png")
    plots.plot_forget_bias_sweep(result["summary"], out / "sweep.png")
    metrics = {
        f"accuracy_fb{s['forget_bias']:g}_T{s['seq_len']}": s["final_accuracy_mean"]
        for s in result["summary"]
    }
    return result, fb.finding(result), metrics


def _run_gradient_flow(args, out: Path):
    from rnnlab.analysis import gradient_flow as gf
    from rnnlab.plotting import analysis as plots

    result = gf.gradient_flow_experiment(
        lengths=args.lengths,
        hidden_size=args.hidden_size,
        forget_bias=args.forget_bias,
        radii=args.radii,
        radius_seq_len=args.radius_seq_len,
        seed=args.seed,
    )
    plots.plot_gradient_flow(result["flow"], out / "gradient_flow.png")
    plots.plot_spectral_radius(result["spectral"], out / "spectral_radius.png")
    plots.plot_cell_path(result["cell_path"], out / "cell_path.png")
    metrics = {f"decay_{e['cell']}_T{e['seq_len']}": e["decay"]["rate"] for e in result["flow"]}
    metrics["cell_path_max_abs_difference"] = result["cell_path"]["max_abs_difference"]
    return result, gf.finding(result), metrics


def _run_clipping(args, out: Path):
    from rnnlab.analysis import clipping as cl
    from rnnlab.plotting import analysis as plots

    result = cl.clipping_experiment(
        lengths=args.lengths,
        hidden_size=args.hidden_size,
        seed=args.seed,
        radius=args.radius,
        seq_len=args.seq_len,
        steps=args.steps,
        lr=args.lr,
        task=args.task,
    )
    plots.plot_clipping(result, out / "clipping.png")
    metrics = {}
    for run in result["runs"]:
        metrics[f"eval_loss_{run['mode']}"] = run["eval_loss"]
        metrics[f"nonfinite_step_{run['mode']}"] = (
            run["nonfinite"]["step"] if run["nonfinite"] else None
        )
    return result, cl.finding(result), metrics


def _run_compare_cells(args, out: Path):
    from rnnlab.analysis import compare_cells as cc
    from rnnlab.plotting import analysis as plots

    result = cc.compare_cells_experiment(
        args.tasks,
        progress=print,
        epochs=args.epochs,
        hidden_size=args.hidden_size,
        seed=args.seed,
        device=args.device,
    )
    plots.plot_compare_cells(result["results"], out / "loss.png")
    table = cc.markdown_table(result["results"])
    (out / "table.md").write_text(table + "\n")
    print(table)
    metrics = {f"accuracy_{r['task']}_{r['cell']}": r["final_accuracy"] for r in result["results"]}
    return result, cc.finding(result), metrics


_RUNNERS = {
    "forget-bias": _run_forget_bias,
    "gradient-flow": _run_gradient_flow,
    "clipping": _run_clipping,
    "compare-cells": _run_compare_cells,
}


def _json_safe(value):
    """NaN / inf become null so the JSON is standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def run(args: argparse.Namespace) -> int:
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    out = Path(args.out or Path("runs") / "experiments" / args.name)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result, finding, metrics = _RUNNERS[args.name](args, out)
    wall = time.perf_counter() - start
    payload = {
        "experiment": args.name,
        "seed": args.seed,
        "wall_s": wall,
        "finding": finding,
        **result,
    }
    (out / f"{args.name.replace('-', '_')}.json").write_text(
        json.dumps(_json_safe(payload), indent=1)
    )
    if args.metrics_out:
        path = Path(args.metrics_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_json_safe({**metrics, "wall_s": wall}), indent=1))
    print(finding)
    print(f"wrote {out} ({wall:.1f} s)")
    return 0
