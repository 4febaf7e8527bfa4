"""`rnnlab experiment NAME`: the classic recurrent-network experiments, measured over seeds.

    rnnlab experiment forget-bias    [--preset sweep|seed] [--budget default|long] [--seeds 10]
    rnnlab experiment compare-cells  [--preset sweep|seed] [--budget default|long] [--task copy]
    rnnlab experiment gradient-flow  [--preset default|seed] [--lengths 10,30,100,300,1000]
    rnnlab experiment clipping       [--seeds 10] [--radius 3] [--steps 300]
    rnnlab experiment seq2seq-variants [--preset default|seed] [--budget default|long] [--seeds 5]

Presets: ``sweep`` (the default of forget-bias and compare-cells) trains every condition at
each sequence length with one fixed budget and reports where each stops solving the task;
``seed`` runs the course notes' own experiment with its own settings (forget-bias: notes
000's ``train_and_evaluate`` over many seeds; compare-cells: notes 003's T = 20,000 mean-sign
comparison and the T = 10,000 gradient norm; gradient-flow: notes 004's powers of W_hh and
the forget-gate product; seq2seq-variants: "Deep Learning from Scratch 2"'s addition task at
the book's scale) and prints a table "the notes say / rnnlab measured" ("the book says").

Each writes NAME.json (data, config, finding, CPU and wall time), its PNGs, command.txt (the
resolved command) and report.html to --out (default runs/experiments/NAME), prints the
finding computed from the statistics, and with --metrics-out writes flat JSON metrics
(per comparison: n_seeds, difference, cliffs_delta, p_value, verdict). Thin: the work is in
``rnnlab.analysis`` (data) and ``rnnlab.plotting`` (figures); the runners in
``rnnlab.cli._experiments``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from rnnlab.files import write_json


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 0,1, got {text!r}") from None


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 5,10,20, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "experiment",
        help="run a classic RNN experiment (forget bias, gradient flow, clipping, cells, seq2seq)",
        description="Run one of the analysis experiments over seeds; writes JSON, PNGs and "
        "report.html and prints the verdict the statistics give.",
    )
    sub = p.add_subparsers(dest="experiment", metavar="NAME", required=True)

    def common(name: str, help_text: str, presets: tuple[str, ...]) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=help_text, description=help_text)
        q.add_argument(
            "--out", default=None, help=f"output folder (default runs/experiments/{name})"
        )
        q.add_argument("--seed", type=int, default=0, help="first random seed (default 0)")
        q.add_argument("--metrics-out", default=None, help="also write flat JSON metrics here")
        q.add_argument(
            "--preset", choices=presets, default=presets[0], help=f"default {presets[0]}"
        )
        q.add_argument(
            "--threads",
            type=int,
            default=1,
            help="torch CPU threads (default 1: these models are too small to gain more)",
        )
        q.set_defaults(func=run, name=name)
        return q

    def sweep_args(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--budget",
            choices=("default", "long"),
            default="default",
            help="training budget per run (rnnlab.analysis.sweep.BUDGETS)",
        )
        q.add_argument(
            "--seeds",
            type=_positive,
            default=None,
            help="seeds per condition (default 10; 20 for --preset seed)",
        )
        q.add_argument(
            "--seq-lens",
            type=_ints,
            default=None,
            help="sequence lengths (default 5,10,20,40; 5,...,160 with --budget long)",
        )
        q.add_argument("--steps", type=_positive, default=None, help="override the budget's steps")
        q.add_argument("--hidden-size", type=_positive, default=None, help="override H")
        q.add_argument("--lr", type=float, default=None, help="override the Adam learning rate")
        q.add_argument("--batch-size", type=_positive, default=None, help="override B")
        q.add_argument(
            "--threshold",
            type=float,
            default=0.9,
            help="accuracy a seed must reach to count as solved (default 0.9)",
        )
        q.add_argument(
            "--stop-at-edge",
            action="store_true",
            help="skip the longer lengths once no condition solves one (no edge can change)",
        )

    q = common("forget-bias", "LSTM forget-gate bias 0 vs 1 on first-token copy", ("sweep", "seed"))
    sweep_args(q)
    q.add_argument("--biases", type=_floats, default=(0.0, 1.0), help="comma list (default 0,1)")
    q.add_argument("--epochs", type=_positive, default=200, help="--preset seed: epochs (200)")

    q = common(
        "compare-cells", "RNN vs LSTM vs GRU: how long a dependency each solves", ("sweep", "seed")
    )
    sweep_args(q)
    q.add_argument("--task", default="copy", help="sweep task: copy, recall, parity, mean_sign")
    q.add_argument("--cells", type=_names, default=("rnn", "lstm", "gru"))
    q.add_argument(
        "--seq-len",
        type=_positive,
        default=20_000,
        help="--preset seed: mean-sign length (the notes: 20000)",
    )
    q.add_argument(
        "--epochs",
        type=_positive,
        default=100,
        help="--preset seed: epochs of one batch (the notes: 100)",
    )
    q.add_argument(
        "--grad-seq-len",
        type=_positive,
        default=10_000,
        help="--preset seed: length of the RNN gradient-norm run (the notes: 10000)",
    )
    q.add_argument(
        "--grad-steps",
        type=_positive,
        default=20,
        help="--preset seed: training steps of the gradient-norm run",
    )

    q = common(
        "gradient-flow",
        "||dL/dh_t|| over time for RNN, LSTM, GRU; spectral radius",
        ("default", "seed"),
    )
    q.add_argument("--lengths", type=_ints, default=(10, 30, 100, 300, 1000))
    q.add_argument("--hidden-size", type=_positive, default=32)
    q.add_argument("--forget-bias", type=float, default=1.0, help="LSTM forget bias (default 1)")
    q.add_argument(
        "--radii",
        type=_floats,
        default=None,
        help="spectral radii (default 0.5,0.9,1,1.1,1.5,2,3; --preset seed: 0.9,1.1)",
    )
    q.add_argument("--radius-seq-len", type=_positive, default=100, help="T of the radius sweep")

    q = common(
        "clipping", "exploding gradients: no clipping vs norm vs value clipping", ("default",)
    )
    q.add_argument("--seeds", type=_positive, default=10, help="seeds (default 10)")
    q.add_argument("--radius", type=float, default=3.0, help="spectral radius of W_hh")
    q.add_argument("--seq-len", type=_positive, default=50)
    q.add_argument("--steps", type=_positive, default=300)
    q.add_argument("--lr", type=float, default=0.1, help="SGD learning rate")
    q.add_argument("--task", default="adding")
    q.add_argument("--hidden-size", type=_positive, default=32)
    q.add_argument(
        "--lengths",
        type=_ints,
        default=(5, 10, 20, 50, 100),
        help="lengths of the gradient-norm-at-init sweep",
    )

    q = common(
        "seq2seq-variants",
        "seq2seq on addition: basic vs reversed vs peeky vs attention (exact match over epochs)",
        ("default", "seed"),
    )
    q.add_argument(
        "--budget",
        choices=("tiny", "default", "long"),
        default="default",
        help="default: 5,000 pairs, 15 epochs, H 64 (about 5 min CPU for 5 seeds); long: "
        "20,000 pairs, 20 epochs, H 128; tiny: a smoke test. --preset seed: the book's 45,000 "
        "pairs, 25 epochs, H 128, batch 128, lr 0.001",
    )
    q.add_argument("--seeds", type=_positive, default=5, help="seeds per condition (default 5)")
    q.add_argument(
        "--conditions",
        type=_names,
        default=("basic", "reversed", "peeky", "attention"),
        help="comma list from basic, reversed, peeky (reversed + peeky), attention (reversed "
        "+ Luong attention); basic is the reference",
    )
    q.add_argument("--epochs", type=_positive, default=None, help="override the epochs")
    q.add_argument("--train-size", type=_positive, default=None, help="override training pairs")
    q.add_argument("--test-size", type=_positive, default=None, help="override held-out pairs")
    q.add_argument("--hidden-size", type=_positive, default=None, help="override H")
    q.add_argument("--lr", type=float, default=None, help="override the Adam learning rate")


def _json_safe(value):
    """NaN / inf become null so the JSON is standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


_SWEEP_ONLY = {"budget", "seq_lens", "steps", "lr", "batch_size", "threshold"}
_UNUSED = {  # options a preset ignores, left out of command.txt
    ("forget-bias", "sweep"): {"epochs"},
    ("forget-bias", "seed"): _SWEEP_ONLY - {"seq_lens"},
    ("compare-cells", "sweep"): {"seq_len", "epochs", "grad_seq_len", "grad_steps"},
    ("compare-cells", "seed"): _SWEEP_ONLY | {"seeds", "hidden_size", "task"},
    ("seq2seq-variants", "seed"): {"budget"},
}


def command_line(args: argparse.Namespace) -> str:
    """The resolved command: every option with the value this run used."""
    import shlex

    skip = {"func", "name", "experiment", "command", "out", "metrics_out"}
    skip |= _UNUSED.get((args.name, args.preset), set())
    parts = ["rnnlab", "experiment", args.name]
    for key, value in sorted(vars(args).items()):
        if key in skip or value is None:
            continue
        if isinstance(value, (tuple, list)):
            value = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        parts += [f"--{key.replace('_', '-')}", str(value)]
    if args.out:
        parts += ["--out", args.out]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    import torch

    from rnnlab.cli._experiments import RUNNERS
    from rnnlab.reporting import write_report

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    out = Path(args.out or Path("runs") / "experiments" / args.name)
    out.mkdir(parents=True, exist_ok=True)
    command = command_line(args)
    (out / "command.txt").write_text(command + "\n")
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        result, finding, metrics = RUNNERS[args.name](args, out)
    except ValueError as err:
        raise SystemExit(f"rnnlab experiment {args.name}: {err}") from None
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    payload = {
        "experiment": args.name,
        "preset": args.preset,
        "seed": args.seed,
        "command": command,
        "threads": args.threads,
        "wall_s": wall,
        "cpu_s": cpu,
        "finding": finding,
        **result,
    }
    write_json(out / f"{args.name.replace('-', '_')}.json", _json_safe(payload), indent=1)
    if args.metrics_out:
        flat = {**metrics, "wall_s": wall, "cpu_s": cpu}
        write_json(args.metrics_out, _json_safe(flat), indent=1)
    report = write_report(out)
    print(finding)
    print(f"wrote {out} and {report.name} ({cpu:.1f} s CPU, {wall:.1f} s wall)")
    return 0
