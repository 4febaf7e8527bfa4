"""`rnnlab example NAME`: the four input/output shapes of a recurrent network, runnable.

    rnnlab example one-to-one      # predict x^2 from x
    rnnlab example one-to-many     # from n, generate its first 10 multiples
    rnnlab example many-to-one     # the sentiment of a sentence
    rnnlab example many-to-many    # a tag for every word

Each trains in seconds on a CPU and prints a few predictions beside the truth; the code is
a short module in ``rnnlab/examples/`` meant to be read.
"""

from __future__ import annotations

import argparse

NAMES = ("one-to-one", "one-to-many", "many-to-one", "many-to-many")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "example",
        help="the four RNN input/output shapes as small runnable examples",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", choices=NAMES, help="which shape")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--metrics-out", help="write the final metrics as flat JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import importlib

    import torch

    from rnnlab.examples import EXAMPLES
    from rnnlab.training.metrics import write_metrics_json

    torch.set_num_threads(args.threads)
    metrics = importlib.import_module(EXAMPLES[args.name]).run(seed=args.seed)
    if args.metrics_out:
        write_metrics_json(args.metrics_out, metrics)
    return 0
