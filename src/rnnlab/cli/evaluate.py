"""`rnnlab evaluate CKPT [--split test | --text-file PATH | --src FILE --ref FILE]`: metrics.

The task (language model, classifier, ...) comes from the checkpoint, and so do the
corpus, tokenization and batching: the run remembers where its data was, so
``--data-dir`` is needed only when the data has moved. Split names ``dev``, ``val`` and
``validation`` mean ``valid``.

    rnnlab evaluate runs/ptb-small/checkpoints/best --split test
    rnnlab evaluate runs/char/checkpoints/best --text-file other.txt

A translation checkpoint reports loss and perplexity, then sacreBLEU BLEU and chrF of the
detokenised greedy and beam translations (``--beam N``, default the run's ``decode.beam``)
with sacreBLEU's signatures, and writes ``translations_<split>_beam<K>.txt`` to --out. It
also scores any line-aligned file pair (plain or .gz):

    rnnlab evaluate runs/multi30k-attn/checkpoints/best --split test --beam 5
    rnnlab evaluate runs/multi30k-attn/checkpoints/best --src news.de --ref news.en
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="metrics of a saved model on a data split or any text file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", help="checkpoint directory (e.g. runs/NAME/checkpoints/best)")
    p.add_argument("--split", default="test", help="train, valid (dev, val) or test")
    p.add_argument("--text-file", help="evaluate on this text file instead of a split")
    p.add_argument("--src", help="translation: source sentences, one a line (with --ref)")
    p.add_argument("--ref", help="translation: reference translations, line-aligned with --src")
    p.add_argument("--beam", type=int, help="translation: beam size (default: the run's)")
    p.add_argument("--data-dir", help="datasets folder (default: where the run read them)")
    p.add_argument("--batch-size", type=int, help="evaluation batch size (default: the run's)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: the run's)")
    p.add_argument(
        "--out",
        help="folder for plots the task draws, e.g. a confusion matrix (default: "
        "RUN/evaluate beside the run's checkpoints/)",
    )
    p.add_argument("--metrics-out", help="write the metrics as flat JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnnlab.text.datasets import DatasetNotFoundError
    from rnnlab.training import CheckpointError, ConfigError
    from rnnlab.training.runs import canonical_split, evaluate_checkpoint, get_task, write_metrics

    out = args.out
    ckpt = Path(args.checkpoint)
    if out is None and ckpt.parent.name == "checkpoints":
        out = ckpt.parent.parent / "evaluate"  # the run's own folder, not the checkpoint's
    try:
        if (args.src is None) != (args.ref is None):
            raise ValueError("--src and --ref go together: a source file and its references")
        pair_files = (args.src, args.ref) if args.src is not None else None
        metrics = evaluate_checkpoint(
            args.checkpoint,
            args.split,
            data_dir=args.data_dir,
            text_file=args.text_file,
            batch_size=args.batch_size,
            device=args.device,
            out_dir=out,
            threads=args.threads,
            pair_files=pair_files,
            beam=args.beam,
        )
    except (
        CheckpointError,
        ConfigError,
        DatasetNotFoundError,
        FileNotFoundError,
        ValueError,
    ) as exc:
        print(f"rnnlab evaluate: {exc}", file=sys.stderr)
        return 2
    task = get_task(metrics["task"])
    name = "text" if args.text_file or args.src else canonical_split(args.split)
    print(task.summary_line(name, metrics))
    write_metrics(args.metrics_out, metrics)
    return 0
