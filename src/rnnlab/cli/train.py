"""`rnnlab train TASK`: train a model from a named config, flags and ``--set key=value``.

    rnnlab train lm --dataset ptb --config ptb-small --data-dir ../shared/data --out runs/ptb-small
    rnnlab train lm --dataset text:input.txt --char --config char-small --set train.epochs=5

Each task adds a sub-command through ``TASKS`` (name -> (add_arguments, handler)), so
``train classifier`` and ``train tagger`` slot in beside ``train lm``. The config is built
in this order: the TOML file (``--config``), then the shortcut flags (``--cell``,
``--hidden``, ...), then every ``--set section.key=value``; unknown keys are errors.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """Options every training task shares."""
    p.add_argument("--config", help="named config (e.g. ptb-small) or a TOML file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set train.lr=0.5 (repeatable)",
    )
    p.add_argument("--data-dir", help="datasets folder (default: $RNNLAB_DATA or ~/.cache/rnnlab)")
    p.add_argument("--out", help="run directory (default: runs/<config or dataset>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--metrics-out", help="write the final metrics as flat JSON here")
    p.add_argument("--device", help="cpu, cuda, cuda:1 or auto (default: the config's)")
    p.add_argument("--threads", type=int, help="torch CPU threads (1 is best on busy machines)")
    p.add_argument("--epochs", type=int, help="shortcut for --set train.epochs=N")
    p.add_argument("--lr", type=float, help="shortcut for --set train.lr=X")
    p.add_argument("--seed", type=int, help="shortcut for --set train.seed=N")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_lm_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", help="hmm (embedded), ptb, wikitext2 or text:PATH")
    p.add_argument("--char", action="store_true", default=None, help="character-level model")
    p.add_argument("--cell", choices=["lstm", "gru", "rnn", "rnn_relu"])
    p.add_argument("--layers", type=int, help="number of recurrent layers")
    p.add_argument("--hidden", type=int, help="hidden units per layer")
    p.add_argument("--embed", type=int, help="embedding size (default: the config's)")
    p.add_argument("--dropout", type=float)
    p.add_argument("--tie", action="store_true", default=None, help="tie embedding and decoder")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--bptt", type=int)


_LM_FLAGS = {  # argparse dest -> config key
    "dataset": "data.dataset",
    "char": "data.char",
    "cell": "model.cell",
    "layers": "model.num_layers",
    "hidden": "model.hidden_size",
    "embed": "model.embed_dim",
    "dropout": "model.dropout",
    "tie": "model.tie_weights",
    "batch_size": "data.batch_size",
    "bptt": "data.bptt",
    "epochs": "train.epochs",
    "lr": "train.lr",
    "seed": "train.seed",
    "device": "train.device",
    "threads": "train.num_threads",
}


def flag_overrides(args: argparse.Namespace, flags: dict[str, str]) -> list[str]:
    """``key=value`` strings for the shortcut flags that were given."""
    out = []
    for dest, key in flags.items():
        value = getattr(args, dest, None)
        if value is not None:
            out.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
    if getattr(args, "quiet", False):
        out.append("train.progress=false")
    return out


def flat_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready scalar entries of a result (private ``_`` keys dropped)."""
    out = {}
    for k, v in result.items():
        if k.startswith("_") or not isinstance(v, (int, float, str, bool, type(None))):
            continue
        out[k] = v if not (isinstance(v, float) and not math.isfinite(v)) else str(v)
    return out


def write_metrics(path: str | None, metrics: dict[str, Any]) -> None:
    if path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        tmp.replace(p)


def _run_lm(args: argparse.Namespace) -> int:
    from rnnlab.models.lm_training import LMRunConfig, config_path, train_lm
    from rnnlab.training.checkpoint import CheckpointError
    from rnnlab.training.config import ConfigError, load_config

    flags = flag_overrides(args, _LM_FLAGS)
    if args.tie and args.hidden is not None and args.embed is None:
        flags.append(f"model.embed_dim={args.hidden}")  # tying needs embed_dim == hidden
    try:
        path = config_path(args.config) if args.config else None
        cfg = load_config(LMRunConfig, path, flags + args.overrides)
    except ConfigError as exc:
        print(f"rnnlab train lm: {exc}", file=sys.stderr)
        return 2
    name = args.config or cfg.data.dataset.replace("text:", "").replace("/", "_")
    out = Path(args.out) if args.out else Path("runs") / Path(name).stem
    try:
        result = train_lm(cfg, out, data_dir=args.data_dir, resume=args.resume)
    except (CheckpointError, FileExistsError, FileNotFoundError, ValueError) as exc:
        print(f"rnnlab train lm: {exc}", file=sys.stderr)
        return 2
    metrics = flat_metrics(result)
    try:
        from rnnlab.plotting.curves import plot_curves

        metrics["curves_png"] = str(plot_curves(out / "metrics.jsonl", out / "curves.png"))
    except Exception as exc:  # plotting is a nicety: never fail a finished run on it
        print(f"(curves not plotted: {exc})", file=sys.stderr)
    write_metrics(args.metrics_out, metrics)
    write_metrics(str(out / "final_metrics.json"), metrics)
    print(
        f"valid ppl {metrics['valid_ppl']:.2f} | test ppl {metrics['test_ppl']:.2f} | "
        f"{metrics['wall_s']:.0f} s | {metrics['tokens_per_s']:.0f} tokens/s | "
        f"best checkpoint {metrics.get('checkpoint_best')}"
    )
    return 0


# task name -> (add its arguments, handler); other tasks register here.
TASKS = {
    "lm": (_add_lm_arguments, _run_lm, "train a language model (word or character level)"),
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tasks = parser.add_subparsers(dest="task", metavar="TASK")
    for name, (add_arguments, handler, help_text) in TASKS.items():
        p = tasks.add_parser(name, help=help_text, description=help_text)
        add_arguments(p)
        add_common_arguments(p)
        p.set_defaults(func=handler)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
