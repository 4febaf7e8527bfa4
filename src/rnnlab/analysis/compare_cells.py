"""RNN vs LSTM vs GRU, measured on this machine instead of asserted.

``compare_cells_experiment`` sweeps the sequence length of one memory task with a fixed
budget per cell and seed (``rnnlab.analysis.sweep.length_sweep``): where each cell stops
solving the task, with seeds, intervals and p-values, and whether the textbook ordering
("a plain RNN fails on long dependencies, LSTM and GRU hold longer") holds at that budget.
Beside it, per cell, what the model costs: the parameter count, the CPU time per step and
the memory one training step keeps alive:

* ``saved_bytes``: the bytes autograd saves for the backward pass in one forward (every
  tensor passed through ``torch.autograd.graph.saved_tensors_hooks``, counted once per
  storage): the activation memory a training step needs, measured exactly on any device;
* ``cuda_peak_bytes``: ``torch.cuda.max_memory_allocated`` when training on a GPU.

``markdown_table`` renders the usual "characteristics" table; ``train_cell`` is one plain
training run (fixed epochs, no early stop) that measures all of them.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from rnnlab.analysis import stats
from rnnlab.analysis.models import CELLS, SequenceModel
from rnnlab.analysis.sweep import Budget, Condition, edge_sentence, length_sweep
from rnnlab.analysis.tasks import TASKS, generator

__all__ = [
    "saved_tensor_bytes",
    "train_cell",
    "cell_costs",
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


def cell_costs(cell: str, task: str, seq_len: int, budget: Budget) -> dict:
    """Parameters and the bytes autograd saves for one training step of ``budget``'s model."""
    spec = TASKS[task]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = SequenceModel(spec, cell, budget.hidden_size, embedding_dim=budget.embedding_dim)
    x, _ = spec.sample(budget.batch_size, seq_len, generator(0))
    _, saved = saved_tensor_bytes(lambda: model(x))
    return {
        "cell": cell,
        "seq_len": seq_len,
        "parameters": sum(p.numel() for p in model.parameters()),
        "saved_bytes": saved,
    }


def compare_cells_experiment(
    task: str = "copy",
    lengths: tuple[int, ...] = (5, 10, 20, 40),
    seeds: tuple[int, ...] = tuple(range(10)),
    budget: Budget | None = None,
    cells: tuple[str, ...] = CELLS,
    *,
    threshold: float = 0.9,
    stop_at_edge: bool = False,
    progress=None,
) -> dict:
    """The length sweep for each cell, and what each cell costs (``stop_at_edge``: see
    ``length_sweep``).

    Returns: ``length_sweep``'s result plus "costs": [{cell, seq_len (the longest),
    parameters, saved_bytes, cpu_s_per_step (median over every run of the cell)}].
    """
    budget = budget or Budget()
    for cell in cells:
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; expected one of {CELLS}")
    conditions = [Condition(cell.upper(), cell) for cell in cells]
    result = length_sweep(
        conditions, task, lengths, seeds, budget, threshold=threshold,
        stop_at_edge=stop_at_edge, progress=progress,
    )  # fmt: skip
    costs = []
    for cell in cells:
        per_step = sorted(
            r["cpu_s"] / r["steps"] for r in result["runs"] if r["condition"] == cell.upper()
        )
        costs.append(
            {
                **cell_costs(cell, task, max(result["config"]["lengths"]), budget),
                "cpu_s_per_step": per_step[len(per_step) // 2],
            }
        )
    result["costs"] = costs
    return result


def markdown_table(costs: list[dict], edges: dict[str, int | None] | None = None) -> str:
    """The "characteristics" table, one row per cell (and its edge, when given)."""
    lines = [
        "| cell | parameters | CPU s / step (median) | saved for backward (T, B) "
        + ("| longest T solved |" if edges is not None else "|"),
        "| --- | ---: | ---: | ---: |" + (" ---: |" if edges is not None else ""),
    ]
    for c in costs:
        row = (
            f"| {c['cell'].upper()} | {c['parameters']:,} | {c['cpu_s_per_step']:.4f} "
            f"| {c['saved_bytes'] / 1024:.0f} KiB (T={c['seq_len']}) |"
        )
        if edges is not None:
            edge = edges.get(c["cell"].upper())
            row += f" {edge if edge is not None else 'none'} |"
        lines.append(row)
    return "\n".join(lines)


def finding(result: dict) -> str:
    """The edges, whether the textbook ordering holds at this budget, and the strongest
    comparison: computed from the numbers."""
    edges = result["edges"]
    text = edge_sentence(result)
    rank = {name: -1 if e is None else e for name, e in edges.items()}
    if "RNN" in rank and len(rank) > 1:
        gated = {n: v for n, v in rank.items() if n != "RNN"}
        if all(v > rank["RNN"] for v in gated.values()):
            text += " The textbook ordering holds here: the RNN stops solving first."
        elif all(v == rank["RNN"] for v in gated.values()):
            text += " At this budget no cell holds longer than the RNN (equal edges)."
        else:
            beaten = [n for n, v in gated.items() if v <= rank["RNN"]]
            text += (
                f" The textbook ordering does not hold here: the RNN holds as long as or "
                f"longer than {', '.join(beaten)}."
            )
    decided = [c for c in result["comparisons"] if c["verdict"] != stats.NO_DIFFERENCE]
    if decided:
        best = max(decided, key=lambda c: abs(c["difference"]))
        text += " Largest detected difference: " + best["sentence"] + "."
    else:
        text += " No comparison detects a difference at this budget."
    return text
