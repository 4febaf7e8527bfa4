"""`rnnlab train TASK`: train a model from a named config, flags and ``--set key=value``.

    rnnlab train lm --dataset ptb --config ptb-small --data-dir ../shared/data --out runs/ptb-small
    rnnlab train lm --dataset text:input.txt --char --config char-small --set train.epochs=5
    rnnlab train lm --out runs/ptb-small --resume          # continue, with the saved config

Every registered task (``rnnlab.training.runs.register_task``) is a sub-command. The config
is built in this order: the TOML file (``--config``; without it the task's default recipe
for the data), then the shortcut flags (``--cell``, ``--hidden``, ...), then every
``--set section.key=value``; unknown keys are errors. With ``--resume`` the run's saved
config is the base; a flag that would change the numbers is refused unless named in
``--allow-config-change``. SIGINT (Ctrl-C) and SIGTERM save ``checkpoints/last`` and print
the command that resumes it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

_COMMON_FLAGS = {
    "precision": "train.precision",
    "epochs": "train.epochs",
    "lr": "train.lr",
    "seed": "train.seed",
    "device": "train.device",
    "threads": "train.num_threads",
}


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """Options every training task shares."""
    p.add_argument("--config", help="named config (`rnnlab configs` lists them) or a TOML file")
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
    p.add_argument(
        "--resume",
        nargs="?",
        const="yes",
        choices=["yes", "auto"],
        help="continue the run in --out with its saved config (--resume=auto: if there is one)",
    )
    p.add_argument(
        "--allow-config-change",
        nargs="+",
        default=[],
        metavar="KEY",
        help="on --resume, allow these keys (or sections) to differ, e.g. train.epochs",
    )
    p.add_argument("--metrics-out", help="write the final metrics as flat JSON here")
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps or auto (default: the config's)")
    p.add_argument(
        "--precision", choices=["fp32", "bf16", "fp16"], help="autocast precision (default fp32)"
    )
    p.add_argument(
        "--nproc-per-node",
        type=int,
        metavar="N",
        help="run N data-parallel processes on this machine (torchrun --standalone; gloo on "
        "CPU, NCCL on GPUs); under torchrun itself this is not needed",
    )
    p.add_argument("--threads", type=int, help="torch CPU threads (1 is best on busy machines)")
    p.add_argument("--epochs", type=int, help="shortcut for --set train.epochs=N")
    p.add_argument("--lr", type=float, help="shortcut for --set train.lr=X")
    p.add_argument("--seed", type=int, help="shortcut for --set train.seed=N")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


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


def build_config(task, args: argparse.Namespace) -> tuple[Any, Path, bool | str]:
    """The run config, run directory and resume mode the arguments ask for."""
    from rnnlab.training.config import apply_overrides
    from rnnlab.training.runs import load_run_config, saved_run_config

    overrides = flag_overrides(args, {**task.flags, **_COMMON_FLAGS}) + list(args.overrides)
    if getattr(args, "tie", None) and args.hidden is not None and args.embed is None:
        overrides.insert(0, f"model.embed_dim={args.hidden}")  # tying needs embed == hidden
    resume: bool | str = {"yes": True, "auto": "auto", None: False}[args.resume]
    if resume and not args.out:
        raise ValueError("--resume needs --out RUN_DIR (the run to continue)")
    out = Path(args.out) if args.out else None
    last = out / "checkpoints" / "last" if out else None
    has_run = last is not None and (last.is_dir() or any(last.parent.glob(".last.*")))
    if resume and has_run and args.config is None:
        from rnnlab.training.runs import prepare_run_dir

        prepare_run_dir(out, True, print)  # recovers an interrupted save first
        saved, _ = saved_run_config(task, out)
        return apply_overrides(saved, overrides), out, resume
    if args.config is None and not resume and os.environ.get("RANK", "0") == "0":
        name = task.default_config(overrides)
        print(f"no --config given: starting from the {name!r} recipe (`rnnlab configs` lists all)")
    cfg = load_run_config(task, args.config, overrides)
    if out is None:
        name = args.config or getattr(cfg.data, "dataset", task.name)
        out = Path("runs") / Path(str(name).replace("text:", "").replace("/", "_")).stem
    return cfg, out, resume


def run_task(task, args: argparse.Namespace) -> int:
    """Parse, train, print the result; every expected failure is one clear line."""
    from rnnlab.text.datasets import DatasetNotFoundError
    from rnnlab.training import CheckpointError, ConfigError
    from rnnlab.training.resume import ResumeError
    from rnnlab.training.runs import resume_command, train_run, write_metrics
    from rnnlab.training.trainer import TrainingDiverged, TrainingInterrupted

    prog = f"rnnlab train {task.name}"
    if args.nproc_per_node and "WORLD_SIZE" not in os.environ:
        return _launch(args.nproc_per_node)
    expected = (
        CheckpointError,
        ConfigError,
        ResumeError,
        FileExistsError,
        FileNotFoundError,
        DatasetNotFoundError,
        ValueError,
        MemoryError,
    )
    try:
        cfg, out, resume = build_config(task, args)
        result = train_run(
            task,
            cfg,
            out,
            data_dir=args.data_dir,
            resume=resume,
            allow_changes=args.allow_config_change,
            command=shlex.join(["rnnlab", *sys.argv[1:]]),
        )
    except TrainingInterrupted as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        if exc.checkpoint is not None:
            print(f"resume with: {resume_command(task, out)}", file=sys.stderr)
            _report(out)
        return 130 if exc.signal_name == "SIGINT" else 143
    except TrainingDiverged as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except expected as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    from rnnlab.training import distributed

    if distributed.current().is_main:
        write_metrics(args.metrics_out, result)
        print(_summary(result, task.unit))
    distributed.shutdown()
    return 0


def _report(out: Path) -> None:
    """report.html of an interrupted run (what it has so far); never fails the command."""
    try:
        from rnnlab.reporting import write_report

        write_report(out)
    except Exception:  # noqa: BLE001 - the report is a nicety
        pass


def _launch(nproc: int) -> int:
    """Re-run this very command under ``torchrun --standalone --nproc-per-node N``."""
    import subprocess

    if nproc < 1:
        print(f"--nproc-per-node must be >= 1, got {nproc}", file=sys.stderr)
        return 2
    argv = sys.argv[1:]
    keep = []
    skip = False
    for arg in argv:  # drop --nproc-per-node N / --nproc-per-node=N
        if skip:
            skip = False
            continue
        if arg == "--nproc-per-node":
            skip = True
            continue
        if arg.startswith("--nproc-per-node="):
            continue
        keep.append(arg)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += [f"--nproc-per-node={nproc}", "-m", "rnnlab", *keep]
    return subprocess.run(cmd).returncode


def _summary(result: dict[str, Any], unit: str) -> str:
    parts = []
    for key in ("valid_ppl", "test_ppl", "valid_accuracy", "test_accuracy"):
        if isinstance(result.get(key), float):
            parts.append(f"{key.replace('_', ' ')} {result[key]:.4g}")
    parts.append(f"{result['wall_s']:.0f} s")
    parts.append(f"{result.get(f'{unit}_per_s', 0.0):.0f} {unit}/s")
    parts.append(f"best checkpoint {result.get('checkpoint_best')}")
    return " | ".join(parts)


def register(subparsers) -> None:
    from rnnlab.training.runs import registered_tasks

    parser = subparsers.add_parser(
        "train",
        help="train a model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tasks = parser.add_subparsers(dest="task", metavar="TASK")
    for name, task in registered_tasks().items():
        p = tasks.add_parser(name, help=task.help, description=task.help)
        task.add_arguments(p)
        add_common_arguments(p)
        p.set_defaults(func=lambda args, t=task: run_task(t, args))
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
