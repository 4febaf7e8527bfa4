"""GPU speed of rnnlab's recurrent paths against cuDNN, measured in the same process.

``rnnlab bench --device cuda`` runs this. For each cell (LSTM, GRU), shape (issue 18's
three), dtype (float32, bfloat16) and task (train = forward + backward, infer = forward
under no_grad), these contenders run on identical weights, interleaved, medians:

    torch          torch.nn (cuDNN)
    auto           rnnlab, backend="auto" (what a user gets)
    scratch        rnnlab's per-step loop (rnnlab.nn.bptt)
    scratch+graph  the same loop replayed from a CUDA graph (rnnlab.nn.fused.graphs)
    fused          one Triton kernel per step for the element-wise math (rnnlab.nn.fused)
    fused+graph    the fused loop replayed from a CUDA graph
    persistent     one launch per sequence (inference, B <= 64; rnnlab.nn.fused.persistent)

A contender that cannot run is listed under ``skipped`` with the reason. The report gives
seconds per call and the time ratio to cuDNN (the issue's targets: fused+graph <= 1.5x,
persistent <= 1.0x at B <= 64). ``tf32=True`` lets float32 matmuls use TF32, as cuDNN's
RNNs do by default (``torch.backends.cudnn.allow_tf32``); the report records both flags.
"""

from __future__ import annotations

import copy
from dataclasses import asdict

import torch

from rnnlab.benchmark import Shape, _measure, _step_fn

__all__ = ["CUDA_SHAPES", "GPU_CONTENDERS", "run_gpu_benchmark", "gpu_markdown_table"]

CUDA_SHAPES = (
    Shape("ptb-medium", batch=20, steps=35, hidden=650, layers=2),
    Shape("bidirectional", batch=64, steps=100, hidden=256, layers=1, bidirectional=True),
    Shape("large", batch=128, steps=50, hidden=1024, layers=1),
)
GPU_CONTENDERS = (
    "torch", "auto", "scratch", "scratch+graph", "fused", "fused+graph", "persistent",
)  # fmt: skip
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _persistent_step(module, x):
    from rnnlab.nn.fused.persistent import run_persistent

    module.eval()
    return lambda: run_persistent(module, x)


def _contenders(cell: str, shape: Shape, dtype, device, task: str):
    """(step functions by contender, skipped contenders with the reason, the auto module)."""
    import rnnlab.nn as rnn
    from rnnlab.nn.fused import unavailable_reason
    from rnnlab.nn.fused.graphs import GraphedRecurrent
    from rnnlab.nn.fused.persistent import plan

    kwargs = dict(
        input_size=shape.hidden,
        hidden_size=shape.hidden,
        num_layers=shape.layers,
        bidirectional=shape.bidirectional,
    )
    reference = getattr(torch.nn, cell)(**kwargs).to(device=device, dtype=dtype)
    x = torch.randn(shape.steps, shape.batch, shape.hidden, device=device, dtype=dtype)

    def ours(backend: str):
        layer = getattr(rnn, cell)(**kwargs, backend=backend).to(device=device, dtype=dtype)
        layer.load_state_dict(reference.state_dict())
        return layer

    train = task == "train"
    modules = {"torch": reference, "auto": ours("auto"), "scratch": ours("scratch")}
    skipped: dict[str, str] = {}
    fused_missing = unavailable_reason(device.type, dtype)
    if fused_missing is None:
        modules["fused"] = ours("fused")
    else:
        skipped["fused"] = skipped["fused+graph"] = fused_missing
    if device.type == "cuda":
        modules["scratch+graph"] = GraphedRecurrent(copy.deepcopy(modules["scratch"]))
        if "fused" in modules:
            modules["fused+graph"] = GraphedRecurrent(copy.deepcopy(modules["fused"]))
    else:
        skipped.setdefault("fused+graph", "CUDA graphs need a CUDA device")
        skipped["scratch+graph"] = "CUDA graphs need a CUDA device"
    steps = {name: _step_fn(m, x, train) for name, m in modules.items()}
    sm_count = None
    if device.type == "cuda":
        sm_count = torch.cuda.get_device_properties(device).multi_processor_count
    launch = plan(shape.batch, shape.hidden, 4 if cell == "LSTM" else 3, dtype, sm_count)
    if train:
        skipped["persistent"] = "inference only"
    elif fused_missing is not None:
        skipped["persistent"] = fused_missing
    elif isinstance(launch, str):
        skipped["persistent"] = launch
    else:
        steps["persistent"] = _persistent_step(copy.deepcopy(modules["fused"]), x)
    ordered = {name: steps[name] for name in GPU_CONTENDERS if name in steps}
    return ordered, skipped, modules["auto"]


def run_gpu_benchmark(
    *,
    device: str = "cuda",
    cells: tuple[str, ...] = ("LSTM", "GRU"),
    shapes: tuple[Shape, ...] = CUDA_SHAPES,
    dtypes: tuple[str, ...] = ("float32", "bfloat16"),
    tasks: tuple[str, ...] = ("train", "infer"),
    tf32: bool = False,
    warmup: int = 3,
    repeats: int = 11,
    seed: int = 0,
    log=print,
) -> dict:
    """Seconds per call of every contender, for every cell x shape x dtype x task.

    Returns a JSON-ready dict: environment fields and ``results``, rows with ``cell, shape,
    dtype, task, seconds {contender}, time_ratio_to_cudnn {contender}, tokens_per_s,
    skipped {contender: reason}, auto_backend, auto_reason``.
    """
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda requested but torch.cuda.is_available() is False")
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown:
        raise ValueError(f"dtypes must be among {sorted(DTYPES)}, got {unknown}")
    previous_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.manual_seed(seed)
    rows = []
    try:
        for cell in cells:
            for shape in shapes:
                for dtype_name in dtypes:
                    for task in tasks:
                        steps, skipped, auto = _contenders(
                            cell, shape, DTYPES[dtype_name], dev, task
                        )
                        seconds = _measure(steps, dev, warmup, repeats)
                        row = {
                            "cell": cell,
                            "shape": shape.name,
                            **{k: v for k, v in asdict(shape).items() if k != "name"},
                            "dtype": dtype_name,
                            "task": task,
                            "seconds": seconds,
                            "time_ratio_to_cudnn": {
                                k: s / seconds["torch"] for k, s in seconds.items()
                            },
                            "tokens_per_s": {
                                k: shape.batch * shape.steps / s for k, s in seconds.items()
                            },
                            "skipped": skipped,
                            "auto_backend": auto.last_backend,
                            "auto_reason": auto.backend_reason,
                        }
                        rows.append(row)
                        if log is not None:
                            ratios = "  ".join(
                                f"{k} {v:.2f}x" for k, v in row["time_ratio_to_cudnn"].items()
                            )
                            log(f"{cell:4s} {shape.describe():28s} {dtype_name:8s} {task:5s} "
                                f"{ratios}")  # fmt: skip
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous_tf32
    return {
        "benchmark": "recurrent-gpu",
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch_version": torch.__version__,
        "triton_version": _triton_version(),
        "matmul_tf32": tf32,
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
        "warmup": warmup,
        "repeats": repeats,
        "statistic": "median seconds per call, contenders interleaved; ratio = time / cuDNN's",
        "results": rows,
    }


def _triton_version() -> str | None:
    from rnnlab.nn.fused import triton_installed

    if not triton_installed():
        return None
    import triton

    return triton.__version__


def gpu_markdown_table(report: dict) -> str:
    """Time ratios to cuDNN (lower is faster; '-' where a contender was skipped)."""
    names = GPU_CONTENDERS[1:]
    lines = [
        "| cell | shape | dtype | task | cuDNN ms | " + " | ".join(names) + " |",
        "| --- | --- | --- | --- | ---: | " + " | ".join("---:" for _ in names) + " |",
    ]
    for r in report["results"]:
        shape = Shape(
            r["shape"], r["batch"], r["steps"], r["hidden"], r["layers"], r["bidirectional"]
        )
        ratio = r["time_ratio_to_cudnn"]
        cells = " | ".join(f"{ratio[n]:.2f}x" if n in ratio else "-" for n in names)
        lines.append(
            f"| {r['cell']} | {shape.describe()} | {r['dtype']} | {r['task']} "
            f"| {r['seconds']['torch'] * 1e3:.2f} | {cells} |"
        )
    return "\n".join(lines)
