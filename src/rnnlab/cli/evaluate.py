"""`rnnlab evaluate CKPT --split test`: perplexity of a saved language model.

The corpus, tokenization and batching come from the run config saved with the
checkpoint; only where the datasets live may change (``--data-dir``).

    rnnlab evaluate runs/ptb-small/checkpoints/best --split test --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="perplexity of a saved model on a data split",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint directory (e.g. runs/NAME/checkpoints/best)")
    p.add_argument("--split", default="test", choices=["train", "valid", "test"])
    p.add_argument("--data-dir", help="datasets folder (default: $RNNLAB_DATA or ~/.cache/rnnlab)")
    p.add_argument("--batch-size", type=int, help="columns of the stream (default: the run's)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--metrics-out", help="write the metrics as flat JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnlab.cli.train import write_metrics
    from rnnlab.models.lm_training import evaluate_lm
    from rnnlab.training.checkpoint import CheckpointError

    try:
        metrics = evaluate_lm(
            args.checkpoint,
            args.split,
            data_dir=args.data_dir,
            batch_size=args.batch_size,
            device=args.device,
        )
    except (CheckpointError, FileNotFoundError, ValueError) as exc:
        print(f"rnnlab evaluate: {exc}", file=sys.stderr)
        return 2
    line = f"{args.split} ppl {metrics[f'{args.split}_ppl']:.2f} ({metrics['tokens']:.0f} tokens)"
    if "optimal_ppl" in metrics:
        line += f"; exact optimum {metrics['optimal_ppl']:.2f}"
    print(line)
    write_metrics(args.metrics_out, metrics)
    return 0
