"""CPU cost per training step of the `--budget long` sweep, and the sweep's worst-case time.

    python benchmarks/long_budget_cost.py [--steps 10]

For each cell and sequence length of ``--budget long``, times ``--steps`` training steps of the
sweep's model (``time.process_time``, 1 thread) and extrapolates the whole sweep as if no run
stopped early (every run takes the budget's 2,000 steps): an upper bound. Writes
benchmarks/results/experiments/long-budget-cost.json.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import torch

from rnnlab.analysis.models import SequenceModel
from rnnlab.analysis.sweep import BUDGETS
from rnnlab.analysis.tasks import TASKS, generator
from rnnlab.cli._experiments import _SWEEP_LENGTHS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    budget, spec, lengths = BUDGETS["long"], TASKS["copy"], _SWEEP_LENGTHS["long"]
    per_step = {}
    for cell in ("rnn", "lstm", "gru"):
        per_step[cell] = {}
        for T in lengths:
            torch.manual_seed(0)
            model = SequenceModel(
                spec, cell, budget.hidden_size, embedding_dim=budget.embedding_dim
            )
            opt, gen = torch.optim.Adam(model.parameters(), lr=budget.lr), generator(0)
            start = time.process_time()
            for _ in range(args.steps):
                x, y = spec.sample(budget.batch_size, T, gen)
                loss = model.loss(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
            per_step[cell][T] = (time.process_time() - start) / args.steps
    seeds = 10

    def bound(cells):
        return seeds * budget.steps * sum(sum(per_step[c].values()) for c in cells)

    result = {
        "budget": asdict(budget),
        "lengths": list(lengths),
        "seeds": seeds,
        "cpu_s_per_step": per_step,
        "upper_bound_cpu_s": {
            "compare-cells": bound(("rnn", "lstm", "gru")),
            "forget-bias": 2 * bound(("lstm",)),
        },
    }
    out = Path("benchmarks/results/experiments/long-budget-cost.json")
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["upper_bound_cpu_s"]), f"-> {out}")


if __name__ == "__main__":
    main()
