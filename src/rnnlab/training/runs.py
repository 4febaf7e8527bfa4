"""Run plumbing every task shares: named configs, the run directory, training with exact
resume, reloading the best weights, evaluating the named splits, the final metrics.

A task (language modelling, classification, tagging, ...) says only what is its own —
how to read its data, build its vocabularies and its model, and evaluate — by subclassing
:class:`~rnnlab.training.tasks.Task` and registering it (``@register_task``); named configs
are :mod:`rnnlab.training.run_configs`. Everything else is here::

    cfg = load_run_config(task, "ptb-small", ["train.epochs=2"])
    result = train_run(task, cfg, "runs/ptb-small", data_dir="../shared/data")
    result["test_ppl"], result["valid_ppl"], result["wall_s"]

    metrics = evaluate_checkpoint("runs/ptb-small/checkpoints/best", split="test")

The run directory::

    runs/NAME/
      config.json          the resolved run config (the checkpoint's copy is the one resume uses)
      metrics.jsonl        one record per logged interval / epoch / split
      checkpoints/best     the best validation epoch (no optimizer state)
      checkpoints/last     the newest state: resumes bit for bit
      final_metrics.json   what the run reports (also --metrics-out)
      curves.png, report.html
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rnnlab.training.config import ConfigError, TrainConfig, from_dict, to_dict
from rnnlab.training.run_configs import CONFIG_DIR, config_path, load_run_config, shipped_configs
from rnnlab.training.tasks import (
    SPLIT_ALIASES,
    Prepared,
    Task,
    canonical_split,
    get_task,
    register_task,
    registered_tasks,
)


# --------------------------------------------------------------------------- run directory
def _ckpt_dirs(out: Path) -> tuple[Path, Path]:
    return out / "checkpoints" / "last", out / "checkpoints" / "best"


def prepare_run_dir(out: Path, resume: bool | str, log: Callable[[str], None]) -> bool:
    """Check the run directory; returns whether the run resumes. ``resume``: True (must),
    False (must not: refuses to overwrite a run), "auto" (if there is something to resume).
    Recovers a ``last`` whose save was killed between its two renames."""
    from rnnlab.training.checkpoint import recover_checkpoint, remove_stale

    last, best = _ckpt_dirs(out)
    for ckpt in (last, best):
        message = recover_checkpoint(ckpt)
        if message:
            log(message)
        remove_stale(ckpt)
    exists = last.is_dir()
    if resume == "auto":
        resume = exists
    if resume and not exists:
        raise FileNotFoundError(f"--resume: no checkpoint to resume at {last}")
    if not resume:
        if exists or best.is_dir():
            raise FileExistsError(
                f"{out} already holds a run (checkpoints in {last.parent}); use --resume to "
                "continue it or choose another --out (nothing was overwritten)"
            )
        ckdir = last.parent
        if ckdir.is_dir():  # only leftovers of a run killed before its first save
            for p in ckdir.iterdir():
                if p.name.startswith("."):
                    shutil.rmtree(p, ignore_errors=True)
    return bool(resume)


def saved_run_config(task: Task, out: Path) -> tuple[Any, dict[str, Any]]:
    """The run config a run in ``out`` was started with (the copy in ``checkpoints/last``,
    which the manifest protects), and the checkpoint's ``run`` facts."""
    cfg, run_info, _ = _saved_run(task, out)
    return cfg, run_info


def _saved_run(task: Task, out: Path) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """``saved_run_config`` plus the checkpoint's vocabularies, from one read of its
    config.json and vocabulary files (the weights are left for the trainer)."""
    from rnnlab.training.checkpoint_load import build_vocabs, load_checkpoint

    last, _ = _ckpt_dirs(out)
    ckpt = load_checkpoint(last, weights=False)
    run = ckpt.config.get("run_config")
    if ckpt.task != task.name or not isinstance(run, dict):
        raise ConfigError(
            f"{last} holds a run of task {ckpt.task!r}, not {task.name!r}; it cannot be resumed "
            f"as `rnnlab train {task.name}`"
        )
    return from_dict(task.config_class, run), ckpt.config.get("run") or {}, build_vocabs(ckpt)


# --------------------------------------------------------------------------- training
def train_run(
    task: Task,
    cfg: Any,
    out_dir: str | Path | None,
    *,
    data_dir: str | Path | None = None,
    resume: bool | str = False,
    allow_changes: Sequence[str] = (),
    callbacks: Sequence[Any] = (),
    prepared: Prepared | None = None,
    finish: bool = True,
    command: str | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train ``task`` as ``cfg`` says; reload the best weights and evaluate valid and test.

    Args:
        task: the registered task.
        cfg: its run config. On resume, the config the run started with is the reference:
            a differing ``cfg`` is refused unless each changed key is in ``allow_changes``
            (or harmless, such as ``train.progress``).
        out_dir: run directory; None keeps nothing on disk.
        data_dir: where named datasets live (default: ``$RNNLAB_DATA`` or the cache); a
            resumed run uses the directory it started with unless this is given.
        resume: True, False or "auto" (resume when ``out_dir`` holds a run).
        prepared: use these vocabularies and batches instead of ``task.prepare``.
        finish: write curves, report and ``final_metrics.json`` (:func:`finish_run`).
        command: the command line that started the run (``command.txt``, the report).
    Returns:
        The trainer's flat result plus ``<split>_<metric>`` of the best weights, the task's
        info, ``num_params``, ``total_wall_s``, and the ``_model``, ``_prepared`` objects.
    """
    import torch

    from rnnlab.training import distributed
    from rnnlab.training.evaluation import resolve_device
    from rnnlab.training.resume import check_resume_config
    from rnnlab.training.trainer import Trainer

    t0 = time.perf_counter()
    dist = distributed.init_distributed(cfg.train.device)
    try:
        resolve_device(dist.device(cfg.train.device))  # before any data is read or folder made
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(f"train.device: {exc}") from exc
    if not dist.is_main:
        log = _quiet
    out = Path(out_dir) if out_dir is not None else None
    resuming = False
    if out is not None:
        if dist.is_main:
            resuming = prepare_run_dir(out, resume, log)
        dist.barrier()
        if not dist.is_main:
            resuming = bool(resume) and (out / "checkpoints" / "last").is_dir()
    run_info: dict[str, Any] = {}
    saved_vocabs: dict[str, Any] = {}
    if resuming:
        saved, run_info, saved_vocabs = _saved_run(task, out)
        _note_edited_config(out, saved, log)
        changes = check_resume_config(
            to_dict(saved), to_dict(cfg), tuple(allow_changes), ignore=task.derived_keys
        )
        for change in changes:
            log(f"resume: config change {change}")
        if data_dir is None and run_info.get("data_dir"):
            data_dir = run_info["data_dir"]
    cfg = task.finalize_config(cfg)
    threads = torch.get_num_threads()
    if cfg.train.num_threads is not None:
        torch.set_num_threads(cfg.train.num_threads)
    try:
        if prepared is None:
            prepared = task.prepare(cfg, data_dir=data_dir)
        cfg = prepared.cfg
        if resuming:
            _check_same_data(out, prepared, saved_vocabs, run_info)
        from rnnlab.text.datasets import data_root

        run_info = {
            "data_dir": str(Path(data_root(data_dir)).resolve()),
            "fingerprint": prepared.fingerprint,
            "rnnlab_version": _version(),
            "command": command,
        }
        from rnnlab.training.seeding import seed_everything

        seed_everything(cfg.train.seed)
        model = task.build_model(cfg, prepared)
        num_params = sum(p.numel() for p in model.parameters())
        log(task.describe(prepared, model))
        if out is not None and dist.is_main:
            from rnnlab.training.storage import write_atomic, write_json

            write_json(out / "config.json", to_dict(cfg))
            if command:
                write_atomic(out / "command.txt", lambda p: p.write_text(command + "\n"))
        train = prepared.data["train"]
        if dist.active:
            if not callable(getattr(train, "shard", None)):
                raise ValueError(f"the {task.name} task's training data cannot be sharded")
            train = train.shard(dist.rank, dist.world_size)
        trainer = Trainer(
            model,
            cfg.train,
            run_dir=out,
            vocabs=prepared.vocabs,
            task=task.name,
            run_config=to_dict(cfg),
            run_info=run_info,
            callbacks=callbacks,
            validation_hook=task.validation_hook(prepared),
        )
        last = out / "checkpoints" / "last" if resuming else None
        result = trainer.fit(train, prepared.data.get("valid"), resume_from=last)
        if result.get("checkpoint_best"):
            from rnnlab.training.checkpoint_load import load_checkpoint, restore_model_state

            best = load_checkpoint(result["checkpoint_best"], map_location=trainer.device)
            restore_model_state(trainer.model, best.model_state, best.path)
        with torch.no_grad():
            for split in ("valid", "test"):
                if split in prepared.data:
                    metrics = task.evaluate(
                        trainer.model, prepared.data[split], prepared, out_dir=out
                    )
                    result.update({f"{split}_{k}": v for k, v in metrics.items()})
        result.update(num_params=num_params, total_wall_s=time.perf_counter() - t0)
        result.update(prepared.info)
        result["_model"], result["_prepared"] = trainer.model, prepared
        if out is not None and finish and dist.is_main:
            try:
                result.update(task.after_run(trainer.model, prepared, out))
            except Exception as exc:  # noqa: BLE001 - samples and heat maps are niceties
                log(f"(run artefacts not written: {exc})")
            finish_run(out, result, log=log)
        return result
    finally:
        torch.set_num_threads(threads)


def _quiet(message: str) -> None:
    """The log of ranks other than 0."""


def _note_edited_config(out: Path, saved: Any, log: Callable[[str], None]) -> None:
    """The run directory's config.json is a copy for people; the checkpoint's (hashed) copy
    is what a resume continues. Say so when someone edited the copy."""
    import json

    try:
        copy = json.loads((out / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if copy != to_dict(saved):
        log(
            f"note: {out / 'config.json'} differs from the config saved in the checkpoint; "
            "the checkpoint's is used (change keys with flags and --allow-config-change)"
        )


def _check_same_data(out: Path, prepared: Prepared, saved: dict, run_info: dict) -> None:
    """A resumed run must see the data and vocabularies (``saved``) it started with."""
    from rnnlab.training.resume import ResumeError

    last = out / "checkpoints" / "last"
    for name in sorted(set(saved) | set(prepared.vocabs)):
        a, b = saved.get(name), prepared.vocabs.get(name)
        if a is None or b is None or a.to_dict() != b.to_dict():
            raise ResumeError(
                f"the vocabulary {name!r} built from the data differs from the one saved in "
                f"{last} ({_vocab_difference(a, b)}): the data changed since the run "
                "started, or the checkpoint's vocabulary was edited; resuming would not continue "
                "the same run"
            )
        prepared.vocabs[name] = a  # the checkpoint's own object
    old = run_info.get("fingerprint")
    if old is not None and prepared.fingerprint is not None and old != prepared.fingerprint:
        raise ResumeError(
            f"the training data differs from the data the run in {out} started with "
            f"(fingerprint {prepared.fingerprint[:12]} vs {old[:12]}); resuming would not "
            "continue the same run"
        )


def _vocab_difference(a: Any, b: Any) -> str:
    if a is None or b is None:
        return "present in only one of them"
    ta, tb = _tokens_of(a), _tokens_of(b)
    if len(ta) != len(tb):
        return f"{len(ta)} entries saved, {len(tb)} from the data"
    for i, (x, y) in enumerate(zip(ta, tb)):
        if x != y:
            return f"id {i}: {x!r} saved, {y!r} from the data"
    return "same entries, different settings"


def _tokens_of(vocab: Any) -> list[str]:
    data = vocab.to_dict()
    return list(data.get("tokens") or data.get("labels") or [])


def _version() -> str:
    from rnnlab import __version__

    return __version__


def finish_run(out: Path, result: dict[str, Any], *, log: Callable[[str], None] = print) -> None:
    """Curves, report and ``final_metrics.json`` for a finished run (plots never fail it)."""
    from rnnlab.training.storage import write_json

    metrics = flat_metrics(result)
    try:
        from rnnlab.plotting.curves import plot_curves

        metrics["curves_png"] = str(plot_curves(out / "metrics.jsonl", out / "curves.png"))
    except Exception as exc:  # noqa: BLE001 - plotting is a nicety
        log(f"(curves not plotted: {exc})")
    write_json(out / "final_metrics.json", metrics)
    try:
        from rnnlab.reporting import write_report  # noqa: PLC0415

        metrics["report_html"] = str(write_report(out))
        write_json(out / "final_metrics.json", metrics)
    except ImportError:
        pass
    except Exception as exc:  # noqa: BLE001 - the report is a nicety
        log(f"(report not written: {exc})")
    result.update({k: v for k, v in metrics.items() if k not in result})


def flat_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready scalar entries of a result (private ``_`` keys dropped); non-finite
    floats stay floats."""
    return {
        k: v
        for k, v in result.items()
        if not k.startswith("_") and isinstance(v, (int, float, str, bool, type(None)))
    }


def write_metrics(path: str | Path | None, metrics: dict[str, Any]) -> None:
    """``--metrics-out``: flat JSON, atomically (nothing when ``path`` is None)."""
    if path:
        from rnnlab.training.storage import write_json

        write_json(path, flat_metrics(metrics))


# --------------------------------------------------------------------------- evaluation
def evaluate_checkpoint(
    path: str | Path,
    split: str = "test",
    *,
    data_dir: str | Path | None = None,
    text_file: str | Path | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    out_dir: str | Path | None = None,
    threads: int | None = None,
    pair_files: tuple[str | Path, str | Path] | None = None,
    beam: int | None = None,
) -> dict[str, Any]:
    """Evaluate a saved model on a split of the data it was trained on (read from where the
    run read it, unless ``data_dir`` says otherwise), or on any ``text_file``. ``threads``:
    torch CPU threads (default: the run's ``train.num_threads``). Translation checkpoints
    also take ``pair_files`` (source, reference: any line-aligned pair) and ``beam`` (in
    place of the run's ``decode.beam``).

    Returns flat metrics named ``<split>_<metric>`` (``text_<metric>`` for a text file or a
    file pair).
    """
    from rnnlab.training.checkpoint_format import CheckpointError
    from rnnlab.training.checkpoint_load import load_model
    from rnnlab.training.evaluation import resolve_device

    if batch_size is not None and batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}")
    resolve_device(device)
    split = canonical_split(split)
    loaded = load_model(path, device=device)
    task = get_task(loaded.task)
    run = loaded.config.get("run_config")
    if not isinstance(run, dict):
        raise CheckpointError(f"{loaded.path}: the checkpoint has no run config to evaluate with")
    try:
        cfg = from_dict(task.config_class, run)
    except ConfigError as exc:
        raise CheckpointError(f"{loaded.path}/config.json: run_config: {exc}") from exc
    if batch_size is not None:
        cfg = _with_eval_batch_size(cfg, batch_size)
    if text_file is not None and pair_files is not None:
        raise ValueError("give a text file or a source/reference file pair, not both")
    for option, value in (("--src/--ref", pair_files), ("--beam", beam)):
        if value is not None and not hasattr(task, "pair_data"):
            raise ValueError(
                f"{option} needs a translation checkpoint; {loaded.path} is task {task.name!r}"
            )
    if beam is not None:
        if beam < 1:
            raise ValueError(f"--beam must be >= 1, got {beam}")
        cfg = dataclasses.replace(cfg, decode=dataclasses.replace(cfg.decode, beam=beam))
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    if text_file is not None or pair_files is not None:
        if pair_files is not None:
            data = task.pair_data(cfg, loaded.vocabs, *(Path(p) for p in pair_files))
        else:
            data = task.text_data(cfg, loaded.vocabs, Path(text_file))
        prepared = Prepared(cfg, loaded.vocabs, {"text": data})
        name = "text"
    else:
        if data_dir is None:
            saved_dir = (loaded.config.get("run") or {}).get("data_dir")
            if saved_dir and Path(saved_dir).is_dir():
                data_dir = saved_dir
        prepared = task.prepare(cfg, data_dir=data_dir, vocabs=loaded.vocabs, splits=(split,))
        data, name = prepared.data[split], split
    import torch

    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}")
    threads = threads or cfg.train.num_threads
    before = torch.get_num_threads()
    try:
        if threads:
            torch.set_num_threads(threads)
        with torch.no_grad():
            metrics = task.evaluate(loaded.model.to(device), data, prepared, out_dir=out)
    finally:
        torch.set_num_threads(before)
    result = {f"{name}_{k}": v for k, v in metrics.items()}
    result.update(
        {k: v for k, v in prepared.info.items() if k.startswith(name) or k == "optimal_ppl"}
    )
    result["task"] = task.name
    return result


def _with_eval_batch_size(cfg: Any, batch_size: int) -> Any:
    data = cfg.data
    if hasattr(data, "eval_batch_size"):
        data = dataclasses.replace(data, eval_batch_size=batch_size)
    elif hasattr(data, "batch_size"):
        data = dataclasses.replace(data, batch_size=batch_size)
    return dataclasses.replace(cfg, data=data)


def resume_command(task: Task, out: Path) -> str:
    """The exact command that continues the run in ``out``."""
    return f"rnnlab train {task.name} --out {out} --resume"


__all__ = [
    "CONFIG_DIR",
    "SPLIT_ALIASES",
    "Prepared",
    "Task",
    "TrainConfig",
    "canonical_split",
    "config_path",
    "evaluate_checkpoint",
    "finish_run",
    "flat_metrics",
    "get_task",
    "load_run_config",
    "prepare_run_dir",
    "register_task",
    "registered_tasks",
    "resume_command",
    "saved_run_config",
    "shipped_configs",
    "train_run",
    "write_metrics",
]
