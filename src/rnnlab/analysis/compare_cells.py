"""RNN vs LSTM vs GRU, measured on this machine instead of asserted.

For each long-range task (``rnnlab.analysis.tasks``) and each cell, train the same
``SequenceModel`` (one recurrent layer, linear read-out from the last state) with Adam
on fresh batches, and record the loss curve, the final accuracy on fresh samples, the
parameter count, the time per epoch and the memory one training step keeps alive:

* ``saved_bytes``: the bytes autograd saves for the backward pass in one forward (every
  tensor passed through ``torch.autograd.graph.saved_tensors_hooks``, counted once per
  storage): the activation memory a training step needs, measured exactly on any device;
* ``cuda_peak_bytes``: ``torch.cuda.max_memory_allocated`` when training on a GPU.

``markdown_table`` renders the results as the usual "characteristics" table.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from rnnlab.analysis.models import CELLS, SequenceModel
from rnnlab.analysis.tasks import TASKS, generator

__all__ = [
    "saved_tensor_bytes",
    "train_cell",
    "compare_cells_experiment",
    "markdown_table",
    "finding",
]


def saved_tensor_bytes(fn) -> tuple[object, int]:
    """Run ``fn()`` and count the bytes autograd saves for backward (each storage once).

    Returns: (fn's result, bytes).
    """
    seen: dict[tuple, int] = {}

    def pack(t: torch.Tensor):
        try:
            storage = t.untyped_storage()
            seen[(storage.data_ptr(), t.device.type)] = storage.nbytes()
        except (RuntimeError, NotImplementedError):  # tensors without storage (e.g. sparse)
            seen[(id(t), "?")] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        result = fn()
    return result, sum(seen.values())


def train_cell(
    cell: str,
    task: str,
    *,
    seq_len: int = 50,
    hidden_size: int = 32,
    epochs: int = 20,
    batches_per_epoch: int = 10,
    batch_size: int = 32,
    lr: float = 0.01,
    eval_size: int = 500,
    seed: int = 0,
    device: str = "cpu",
) -> dict:
    """Train one cell on one task (Adam, gradient norm clipped at 1, fresh batches).

    Returns:
        {"cell", "task", "seq_len", "losses": [mean loss per epoch], "final_accuracy",
         "final_loss" (on ``eval_size`` fresh samples), "chance", "parameters",
         "seconds_per_epoch", "saved_bytes", "cuda_peak_bytes" (None on CPU)}.
    """
    spec = TASKS[task]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SequenceModel(spec, cell, hidden_size).to(device)
    gen = generator(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
    losses, seconds, saved = [], [], 0
    for _ in range(epochs):
        start, total = time.perf_counter(), 0.0
        for _ in range(batches_per_epoch):
            x, y = (t.to(device) for t in spec.sample(batch_size, seq_len, gen))
            out, nbytes = saved_tensor_bytes(lambda x=x: model(x))
            saved = max(saved, nbytes)
            loss = model.loss(out, y)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item()
        seconds.append(time.perf_counter() - start)
        losses.append(total / batches_per_epoch)
    with torch.no_grad():
        x, y = (t.to(device) for t in spec.sample(eval_size, seq_len, gen))
        out = model(x)
        accuracy, final_loss = model.accuracy(out, y), model.loss(out, y).item()
    return {
        "cell": cell,
        "task": task,
        "seq_len": seq_len,
        "losses": losses,
        "final_accuracy": accuracy,
        "final_loss": final_loss,
        "chance": spec.chance(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "seconds_per_epoch": sorted(seconds)[len(seconds) // 2],  # median
        "saved_bytes": saved,
        "cuda_peak_bytes": torch.cuda.max_memory_allocated(device)
        if device.startswith("cuda")
        else None,
    }


def compare_cells_experiment(
    tasks: dict[str, int] | None = None,
    cells: tuple[str, ...] = CELLS,
    *,
    progress=None,
    **train_kwargs,
) -> dict:
    """``train_cell`` for every task (name -> sequence length) and cell.

    Returns: {"config": {...}, "results": [train_cell results]}.
    """
    tasks = tasks or {"copy": 20, "adding": 50, "mean_sign": 100}
    results = []
    for task, seq_len in tasks.items():
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; expected one of {sorted(TASKS)}")
        for cell in cells:
            r = train_cell(cell, task, seq_len=seq_len, **train_kwargs)
            results.append(r)
            if progress is not None:
                progress(f"{task} T={seq_len} {cell}: accuracy {r['final_accuracy']:.3f}")
    config = {"tasks": tasks, "cells": list(cells), **train_kwargs}
    return {"config": config, "results": results}


def markdown_table(results: list[dict]) -> str:
    """The comparison as a Markdown table, one row per (task, cell)."""
    lines = [
        "| task | T | cell | final accuracy | final loss | parameters | s / epoch "
        "| saved for backward |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['task']} | {r['seq_len']} | {r['cell'].upper()} | {r['final_accuracy']:.3f} "
            f"| {r['final_loss']:.4f} | {r['parameters']:,} | {r['seconds_per_epoch']:.3f} "
            f"| {r['saved_bytes'] / 1024:.0f} KiB |"
        )
    return "\n".join(lines)


def finding(result: dict) -> str:
    """One sentence stating what ``compare_cells_experiment`` measured."""
    parts = []
    for task in dict.fromkeys(r["task"] for r in result["results"]):
        rows = [r for r in result["results"] if r["task"] == task]
        best = max(rows, key=lambda r: (r["final_accuracy"], -r["final_loss"]))
        accs = ", ".join(f"{r['cell'].upper()} {r['final_accuracy']:.2f}" for r in rows)
        if rows[0]["chance"] == rows[0]["chance"]:  # not NaN: classification
            accs += f"; chance {rows[0]['chance']:.2f}"
        parts.append(f"on {task} (T={rows[0]['seq_len']}) {best['cell'].upper()} did best ({accs})")
    rows = result["results"]
    fast = min(rows, key=lambda r: r["seconds_per_epoch"])
    return (
        "Measured here: "
        + "; ".join(parts)
        + f"; fastest epoch: {fast['cell'].upper()} on {fast['task']}"
        + f" ({fast['seconds_per_epoch']:.3f} s)."
    )
