"""Speed of rnnlab's recurrent layers against torch.nn, measured in the same process.

For each cell (LSTM, GRU, RNN), shape and task (training = forward + backward,
inference = forward under ``no_grad``), three contenders run on identical weights:
``torch`` (torch.nn), ``auto`` (rnnlab, ``backend="auto"``) and ``scratch`` (rnnlab,
``backend="scratch"``). Timings are interleaved (torch, auto, scratch, torch, ...)
after a warm-up and summarised by their median, so that the load of a shared
machine hits every contender alike; speeds are tokens (B*T) per second and ratios
are relative to torch.nn.

``benchmarks/bench_recurrent.py`` and ``rnnlab bench`` call ``run_benchmark`` and
``markdown_table``.
"""

from __future__ import annotations

import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

__all__ = ["Shape", "SHAPES", "CELLS", "run_benchmark", "markdown_table", "write_json"]

CELLS = ("LSTM", "GRU", "RNN")
CONTENDERS = ("torch", "auto", "scratch")


@dataclass(frozen=True)
class Shape:
    """One benchmark configuration (input size = hidden size)."""

    name: str
    batch: int
    steps: int
    hidden: int
    layers: int
    bidirectional: bool = False

    def describe(self) -> str:
        bi = ", bi" if self.bidirectional else ""
        return f"B={self.batch} T={self.steps} H={self.hidden} L={self.layers}{bi}"


SHAPES = (
    Shape("ptb-small", batch=20, steps=35, hidden=200, layers=2),
    Shape("ptb-medium", batch=20, steps=35, hidden=650, layers=2),
    Shape("bidirectional", batch=64, steps=100, hidden=256, layers=1, bidirectional=True),
)


def _cpu_name() -> str:
    """The CPU model (from /proc/cpuinfo on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _build(cell: str, shape: Shape, device: torch.device) -> dict[str, torch.nn.Module]:
    """The three contenders with identical weights."""
    import rnnlab.nn as rnn

    kwargs = dict(
        input_size=shape.hidden,
        hidden_size=shape.hidden,
        num_layers=shape.layers,
        bidirectional=shape.bidirectional,
    )
    reference = getattr(torch.nn, cell)(**kwargs).to(device)
    modules = {"torch": reference}
    for backend in ("auto", "scratch"):
        ours = getattr(rnn, cell)(**kwargs, backend=backend).to(device)
        ours.load_state_dict(reference.state_dict())
        modules[backend] = ours
    return modules


def _step_fn(module: torch.nn.Module, x: torch.Tensor, train: bool):
    params = list(module.parameters())

    def train_step() -> None:
        for p in params:
            p.grad = None
        out, _ = module(x)
        out.sum().backward()

    @torch.no_grad()
    def infer_step() -> None:
        module(x)

    module.train(train)
    return train_step if train else infer_step


def _measure(steps: dict, device: torch.device, warmup: int, repeats: int) -> dict[str, float]:
    """Median seconds per call of each step function, calls interleaved."""
    for _ in range(warmup):
        for fn in steps.values():
            fn()
    _sync(device)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def run_benchmark(
    *,
    device: str = "cpu",
    cells: tuple[str, ...] = CELLS,
    shapes: tuple[Shape, ...] = SHAPES,
    tasks: tuple[str, ...] = ("train", "infer"),
    warmup: int = 2,
    repeats: int = 7,
    seed: int = 0,
    log=print,
) -> dict:
    """Measure tokens/s of torch.nn and rnnlab (auto, scratch) for every cell x shape x task.

    Returns a JSON-ready dict: environment fields and ``results``, a list of rows with
    ``cell, shape, task, tokens_per_s {contender: float}, speedup {auto, scratch}``
    (relative to torch.nn) and ``auto_backend`` / ``auto_reason``.
    """
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda requested but torch.cuda.is_available() is False")
    torch.manual_seed(seed)
    rows = []
    for cell in cells:
        for shape in shapes:
            modules = _build(cell, shape, dev)
            x = torch.randn(shape.steps, shape.batch, shape.hidden, device=dev)  # (T, B, H)
            tokens = shape.batch * shape.steps
            for task in tasks:
                steps = {name: _step_fn(m, x, task == "train") for name, m in modules.items()}
                seconds = _measure(steps, dev, warmup, repeats)
                speed = {name: tokens / s for name, s in seconds.items()}
                row = {
                    "cell": cell,
                    "shape": shape.name,
                    **{k: v for k, v in asdict(shape).items() if k != "name"},
                    "task": task,
                    "tokens_per_s": speed,
                    "speedup": {k: speed[k] / speed["torch"] for k in ("auto", "scratch")},
                    "auto_backend": modules["auto"].last_backend,
                    "auto_reason": modules["auto"].backend_reason,
                }
                rows.append(row)
                if log is not None:
                    log(
                        f"{cell:4s} {shape.describe():28s} {task:5s} "
                        f"torch {speed['torch']:9.0f} tok/s  auto x{row['speedup']['auto']:.2f} "
                        f"({row['auto_backend']})  scratch x{row['speedup']['scratch']:.2f}"
                    )
    return {
        "benchmark": "recurrent",
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else _cpu_name(),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "warmup": warmup,
        "repeats": repeats,
        "statistic": "median seconds per step, contenders interleaved",
        "results": rows,
    }


def markdown_table(report: dict) -> str:
    """The results as a Markdown table (tokens/s; speedups relative to torch.nn)."""
    lines = [
        "| cell | shape | task | torch.nn tok/s | auto tok/s | auto / torch | auto path "
        "| scratch tok/s | scratch / torch |",
        "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in report["results"]:
        shape = Shape(
            r["shape"], r["batch"], r["steps"], r["hidden"], r["layers"], r["bidirectional"]
        )
        s, x = r["tokens_per_s"], r["speedup"]
        lines.append(
            f"| {r['cell']} | {shape.describe()} | {r['task']} | {s['torch']:,.0f} "
            f"| {s['auto']:,.0f} | {x['auto']:.2f}x | {r['auto_backend']} "
            f"| {s['scratch']:,.0f} | {x['scratch']:.2f}x |"
        )
    return "\n".join(lines)


def write_json(report: dict, path: str | Path) -> Path:
    """Write ``report`` as indented JSON, atomically, creating the parent directory."""
    from rnnlab.files import write_json as write

    return write(path, report)
