"""`rnnlab bench`: tokens/s of rnnlab's RNN/LSTM/GRU against torch.nn in one process.

Thin: parses arguments and calls ``rnnlab.benchmark`` (also used by
``benchmarks/bench_recurrent.py``).
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench",
        help="measure training and inference speed against torch.nn",
        description="Tokens/s for training (forward + backward) and inference of rnnlab's "
        "LSTM, GRU and RNN (backend auto and scratch) against torch.nn, same process, "
        "interleaved timings; writes JSON and prints a Markdown table.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="first shape only, fewer repeats")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument(
        "--out",
        default=None,
        help="JSON path (default: benchmarks/results/recurrent-DEVICE.json)",
    )
    p.add_argument("--cells", default="LSTM,GRU,RNN", help="comma-separated subset of LSTM,GRU,RNN")
    p.add_argument("--repeats", type=int, default=None, help="timed calls per contender")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")


def run(args: argparse.Namespace) -> int:
    import torch

    from rnnlab.benchmark import CELLS, SHAPES, markdown_table, run_benchmark, write_json

    cells = tuple(c.strip().upper() for c in args.cells.split(",") if c.strip())
    unknown = [c for c in cells if c not in CELLS]
    if unknown:
        raise SystemExit(f"--cells: expected a subset of {','.join(CELLS)}, got {unknown}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    report = run_benchmark(
        device=args.device,
        cells=cells,
        shapes=SHAPES[:1] if args.quick else SHAPES,
        warmup=1 if args.quick else 2,
        repeats=repeats,
    )
    out = args.out or f"benchmarks/results/recurrent-{args.device}.json"
    path = write_json(report, out)
    print()
    print(markdown_table(report))
    print(f"\nwrote {path}")
    return 0
