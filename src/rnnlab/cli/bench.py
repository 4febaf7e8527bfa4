"""`rnnlab bench`: tokens/s of rnnlab's RNN/LSTM/GRU against torch.nn in one process.

Thin: parses arguments and calls ``rnnlab.benchmark`` (CPU; also used by
``benchmarks/bench_recurrent.py``) or, with ``--device cuda``, ``rnnlab.benchmark_gpu``
(cuDNN against the scratch loop, the fused Triton path, CUDA graphs, the persistent kernel).
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
        help="JSON path (default: runs/bench/recurrent-cpu.json, or recurrent-cuda-fused.json "
        "with --device cuda; pass benchmarks/results/... to update the tracked results)",
    )
    p.add_argument(
        "--cells",
        default=None,
        help="comma-separated subset of LSTM,GRU,RNN (default: all on cpu, LSTM,GRU on cuda)",
    )
    p.add_argument(
        "--dtypes",
        default="float32,bfloat16",
        help="cuda only: comma-separated dtypes among float32,bfloat16,float16",
    )
    p.add_argument(
        "--tf32",
        action="store_true",
        help="cuda only: float32 matmuls in TF32, as cuDNN's RNNs use by default",
    )
    p.add_argument("--repeats", type=int, default=None, help="timed calls per contender")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")


def run(args: argparse.Namespace) -> int:
    import torch

    from rnnlab.benchmark import CELLS, SHAPES, markdown_table, run_benchmark, write_json

    default_cells = "LSTM,GRU" if args.device == "cuda" else "LSTM,GRU,RNN"
    cells = tuple(c.strip().upper() for c in (args.cells or default_cells).split(",") if c.strip())
    unknown = [c for c in cells if c not in CELLS]
    if unknown:
        raise SystemExit(f"--cells: expected a subset of {','.join(CELLS)}, got {unknown}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.device == "cuda":
        return _run_cuda(args, cells)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    report = run_benchmark(
        device=args.device,
        cells=cells,
        shapes=SHAPES[:1] if args.quick else SHAPES,
        warmup=1 if args.quick else 2,
        repeats=repeats,
    )
    out = args.out or f"runs/bench/recurrent-{args.device}.json"  # never a tracked file
    path = write_json(report, out)
    print()
    print(markdown_table(report))
    print(f"\nwrote {path}")
    return 0


def _run_cuda(args: argparse.Namespace, cells: tuple[str, ...]) -> int:
    from rnnlab.benchmark import write_json
    from rnnlab.benchmark_gpu import CUDA_SHAPES, DTYPES, gpu_markdown_table, run_gpu_benchmark

    dtypes = tuple(d.strip() for d in args.dtypes.split(",") if d.strip())
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown:
        raise SystemExit(f"--dtypes: expected a subset of {','.join(DTYPES)}, got {unknown}")
    try:
        report = run_gpu_benchmark(
            cells=cells,
            shapes=CUDA_SHAPES[:1] if args.quick else CUDA_SHAPES,
            dtypes=dtypes[:1] if args.quick else dtypes,
            tf32=args.tf32,
            warmup=1 if args.quick else 3,
            repeats=args.repeats if args.repeats is not None else (3 if args.quick else 11),
        )
    except RuntimeError as error:
        raise SystemExit(f"rnnlab bench: {error}") from None
    path = write_json(report, args.out or "runs/bench/recurrent-cuda-fused.json")
    print()
    print(gpu_markdown_table(report))
    print(f"\nwrote {path}")
    return 0
