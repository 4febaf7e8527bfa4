"""The model-agnostic trainer: every task (LM, classifier, tagger, seq2seq) trains through it.

The trainer sees a model only through the contract of ``rnnlab.training.contract``
(``initial_state``, ``detach_state``, ``step -> StepOutput``, ``summarize``), and data only as
re-iterable collections of batches (a list, or an object whose ``__iter__`` starts a fresh
epoch; an optional ``batch_size`` attribute is passed to ``model.initial_state`` and an
optional ``__len__`` sizes the progress bar). Batches may be tensors, tuples, dicts or
dataclasses; the trainer moves them to the device.

Usage::

    from rnnlab.training import Trainer, TrainConfig, seed_everything

    cfg = TrainConfig(optimizer="sgd", lr=20.0, clip_norm=0.25, epochs=13,
                      schedule="step", decay_start=5, gamma=0.5, seed=1)
    seed_everything(cfg.seed)                     # before building the model
    model = LanguageModel(model_cfg)
    trainer = Trainer(model, cfg, run_dir="runs/ptb-small", vocab=vocab, run_config=run_cfg)
    result = trainer.fit(train_batches, valid_batches)        # or resume_from="runs/.../last"
    result["valid_ppl"], result["best_valid_loss"], result["tokens_per_s"], result["wall_s"]
    test = trainer.evaluate(test_batches)                     # {"loss": ..., "ppl": ..., ...}

One epoch::

    model.train(); state = model.initial_state(batch_size, device)
    for batch in train_data:
        out = model.step(batch, state)                  # StepOutput(loss, count, state, ...)
        (out.loss * scale).backward()                   # scale: see "Learning rate" below
        callbacks.on_after_backward(trainer, step)      # raw gradients
        check the loss and the global gradient norm are finite (else NonFiniteError)
        clip by value, then by global norm; optimizer.step()
        state = model.detach_state(out.state)           # truncated BPTT
        callbacks.on_step_end(trainer, StepInfo(step, loss, grad_norm, lr, ...))
    validation (trainer.evaluate), lr schedule, early stopping, checkpoints best + last

Learning rate and loss: with ``loss_reduction="mean"`` (default) the optimizer sees the
model's mean loss per unit (token), so lr and clip_norm are per-token quantities
(pytorch/examples' word LM: lr 20, clip 0.25). With ``"sum_over_time"`` the trainer
backpropagates ``loss * out.time_steps`` (summed over the BPTT window, averaged over the
batch), the form of the classic recipes (Zaremba et al. 2014, "Recurrent neural network
regularization": lr 1, clip 5, bptt 20); the model must set ``StepOutput.time_steps``.
Reported losses are always the mean per unit.

A run directory (``run_dir``, optional) receives ``metrics.jsonl`` (one JSON record per epoch
and split, and per ``log_interval`` steps; see ``rnnlab.training.metrics``) and
``checkpoints/best`` and ``checkpoints/last`` (see ``rnnlab.training.checkpoint``): ``last``
after every epoch, ``best`` when the monitored validation metric improves. Resuming from
``last`` (``fit(..., resume_from=path)``) restores weights, optimizer, schedule, epoch, step,
best metric, early-stopping counter and RNG states: a resumed run ends with the same weights
as an uninterrupted one. Ctrl-C saves ``last`` (mid-epoch: resuming restarts that epoch's
RNG stream and skips the batches already trained) and raises :class:`TrainingInterrupted`,
a ``KeyboardInterrupt`` carrying the checkpoint path.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from rnnlab.training.callbacks import Callback, StepInfo, TensorBoardLogger
from rnnlab.training.checkpoint import load_checkpoint, restore_model_state, save_checkpoint
from rnnlab.training.config import TrainConfig, to_dict
from rnnlab.training.contract import StepOutput, check_model_contract
from rnnlab.training.evaluation import (
    batch_size_of,
    evaluate,
    move_to_device,
    resolve_device,
    summarize_totals,
)
from rnnlab.training.gradients import clip_gradients, nonfinite_gradients
from rnnlab.training.metrics import JSONLLogger, Throughput, Totals
from rnnlab.training.optim import build_optimizer, build_schedule
from rnnlab.training.seeding import (
    deterministic_mode,
    get_rng_state,
    seed_everything,
    set_rng_state,
)


class NonFiniteError(FloatingPointError):
    """The loss or a gradient became NaN or infinite; the message names the step."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: ``checkpoint`` is where ``last`` was saved (or None)."""

    def __init__(self, message: str, checkpoint: Path | None, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint
        self.result = result


class Trainer:
    """Trains any model implementing the contract; see the module docstring.

    Args:
        model: the model (moved to ``config.device``).
        config: the trainer's options (:class:`TrainConfig`).
        run_dir: where metrics.jsonl and checkpoints go; None keeps nothing on disk.
        vocab: saved with every checkpoint (needs ``to_dict``).
        run_config: the run's resolved config, saved with every checkpoint.
        callbacks: :class:`Callback` instances.
        optimizer: use this optimizer instead of building one from ``config``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        config: TrainConfig,
        *,
        run_dir: str | Path | None = None,
        vocab: Any = None,
        run_config: Any = None,
        callbacks: Sequence[Callback] = (),
        optimizer: torch.optim.Optimizer | None = None,
    ) -> None:
        check_model_contract(model)
        self.config = config
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.vocab = vocab
        self.run_config = run_config
        self.callbacks = list(callbacks)
        if config.tensorboard and self.run_dir is not None:
            self.callbacks.append(TensorBoardLogger(str(self.run_dir / "tb")))
        self.optimizer = optimizer or build_optimizer(self.model, config)
        self.schedule = build_schedule(self.optimizer, config)
        self.step = 0  # optimizer steps taken
        self.epoch = 0  # last epoch completed
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0  # epochs since the last improvement (early stopping)
        self.history: list[dict[str, Any]] = []  # per epoch: {"epoch", "lr", "train", "valid"}
        self._wall_before = 0.0  # wall time of earlier (resumed) sessions
        self._batches_done = 0
        self._rng_epoch_start: dict[str, Any] | None = None
        self._epoch_done = True
        self._logger: JSONLLogger | None = None
        self._t0 = time.perf_counter()

    # ------------------------------------------------------------------ public
    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def checkpoint_dir(self) -> Path | None:
        return self.run_dir / "checkpoints" if self.run_dir is not None else None

    def evaluate(self, data: Iterable[Any], max_batches: int | None = None) -> dict[str, float]:
        """Metrics of the model on ``data`` (no gradients); see :func:`evaluation.evaluate`."""
        return evaluate(self.model, data, device=self.device, max_batches=max_batches)

    def fit(
        self,
        train_data: Iterable[Any],
        valid_data: Iterable[Any] | None = None,
        *,
        resume_from: str | Path | None = None,
    ) -> dict[str, Any]:
        """Train for ``config.epochs`` epochs (or until early stopping / ``max_steps``).

        Returns flat results: ``train_<metric>`` and ``valid_<metric>`` of the last epoch,
        ``best_valid_<monitor>``, ``best_epoch``, ``epochs``, ``steps``, ``stop_reason``
        ("epochs", "early_stopping", "max_steps"), ``wall_s``, ``tokens_per_s`` (training
        units per second, validation excluded), ``checkpoint_best``, ``checkpoint_last``.
        Raises NonFiniteError on a NaN/inf loss or gradient, TrainingInterrupted on Ctrl-C.
        """
        cfg = self.config
        self._t0 = time.perf_counter()
        self._speed = Throughput()
        with contextlib.ExitStack() as stack:
            stack.enter_context(deterministic_mode(cfg.deterministic))
            if cfg.num_threads is not None:
                prev = torch.get_num_threads()
                torch.set_num_threads(cfg.num_threads)
                stack.callback(torch.set_num_threads, prev)
            skip = 0
            if resume_from is not None:
                skip = self.load_state(resume_from)
            else:
                seed_everything(cfg.seed)
            if self.run_dir is not None:
                self._logger = stack.enter_context(JSONLLogger(self.run_dir / "metrics.jsonl"))
                stack.callback(setattr, self, "_logger", None)
            for cb in self.callbacks:
                cb.on_train_start(self)
            stop_reason = "epochs"
            first = self.epoch + 1
            try:
                for epoch in range(first, cfg.epochs + 1):
                    stop_reason = self._run_epoch(epoch, train_data, valid_data, skip)
                    skip = 0
                    if stop_reason != "epochs":
                        break
            except KeyboardInterrupt:
                path = None
                if self.checkpoint_dir is not None:
                    path = self._save("last", epoch_complete=self._epoch_done)
                result = self._result("interrupted")
                msg = f"training interrupted at step {self.step}" + (
                    f"; resume from {path}" if path else ""
                )
                raise TrainingInterrupted(msg, path, result) from None
            result = self._result(stop_reason)
            for cb in self.callbacks:
                cb.on_train_end(self, result)
        return result

    # ------------------------------------------------------------------ epochs
    def _run_epoch(self, epoch: int, train_data: Any, valid_data: Any, skip: int) -> str:
        cfg = self.config
        if skip:  # resuming mid-epoch: replay this epoch's RNG stream from its start
            set_rng_state(self._rng_epoch_start)
        self._rng_epoch_start = get_rng_state()
        self._epoch_done = False
        lr = self.schedule.start_epoch(epoch)
        for cb in self.callbacks:
            cb.on_epoch_start(self, epoch)
        train_metrics, hit_max_steps = self._train_epoch(epoch, train_data, skip)
        valid_metrics = self.evaluate(valid_data) if valid_data is not None else None
        self.epoch, self._epoch_done = epoch, True
        watched = valid_metrics if valid_metrics is not None else train_metrics
        if cfg.monitor not in watched:
            raise KeyError(
                f"monitor {cfg.monitor!r} is not among the metrics {sorted(watched)} "
                "returned by model.summarize"
            )
        value = float(watched[cfg.monitor])
        sign = 1.0 if cfg.monitor_mode == "min" else -1.0
        improved = not math.isnan(value) and (
            self.best_value is None or sign * value < sign * self.best_value
        )
        if improved:
            self.best_value, self.best_epoch, self.bad_epochs = value, epoch, 0
        else:
            self.bad_epochs += 1
        self.schedule.end_epoch(value)
        record = {"epoch": epoch, "lr": lr, "train": train_metrics}
        if valid_metrics is not None:
            record["valid"] = valid_metrics
        self.history.append(record)
        self._log("train", train_metrics, epoch, lr)
        if valid_metrics is not None:
            self._log("valid", valid_metrics, epoch, lr)
        self._print_epoch(record)
        stop = "epochs"
        if hit_max_steps:
            stop = "max_steps"
        elif cfg.early_stopping_patience and self.bad_epochs >= cfg.early_stopping_patience:
            stop = "early_stopping"
        if self.checkpoint_dir is not None:
            if improved:
                self._save("best", epoch_complete=True, with_optimizer=False)
            self._save("last", epoch_complete=True)
        metrics = {k: v for k, v in record.items() if k in ("train", "valid")}
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, metrics)
        return stop

    def _train_epoch(self, epoch: int, data: Any, skip: int) -> tuple[dict[str, float], bool]:
        cfg, model = self.config, self.model
        model.train()
        state = model.initial_state(batch_size_of(data), self.device)
        totals, interval = Totals(), Totals()
        total = len(data) if hasattr(data, "__len__") else None
        bar = tqdm(
            total=total,
            initial=skip,
            desc=f"epoch {epoch}",
            disable=not cfg.progress,
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.1 if sys.stderr.isatty() else 30.0,  # keep log files small
        )
        self._batches_done = skip
        hit_max_steps = False
        speed = Throughput()  # this epoch; self._speed: the whole fit
        speed.start()
        self._speed.start()
        try:
            for index, batch in enumerate(itertools.islice(iter(data), skip, None), start=skip):
                out = model.step(move_to_device(batch, self.device), state)
                info = self._optimize(out, epoch, index)
                state = model.detach_state(out.state)
                self._batches_done = index + 1
                totals.add(info.loss, out.count, out.sums)
                interval.add(info.loss, out.count, out.sums)
                speed.add(out.count)
                self._speed.add(out.count)
                for cb in self.callbacks:
                    cb.on_step_end(self, info)
                bar.update(1)
                if cfg.progress and self.step % 10 == 0:
                    m = summarize_totals(model, totals)
                    bar.set_postfix(_short(m, speed.rate), refresh=False)
                if cfg.log_interval and self.step % cfg.log_interval == 0:
                    m = {**summarize_totals(model, interval), "tokens_per_s": speed.rate}
                    self._log("train_interval", m, epoch, self.lr)
                    interval = Totals()
                if cfg.max_steps is not None and self.step >= cfg.max_steps:
                    hit_max_steps = True
                    break
        finally:
            speed.stop()
            self._speed.stop()
            bar.close()
        if totals.count == 0 and skip == 0:
            raise ValueError("training data yielded no batches")
        metrics = {**summarize_totals(model, totals), "tokens_per_s": speed.rate}
        return metrics, hit_max_steps

    def _optimize(self, out: StepOutput, epoch: int, index: int) -> StepInfo:
        """Backward, checks, clipping and the optimizer step for one batch."""
        cfg = self.config
        where = f"step {self.step + 1} (epoch {epoch}, batch {index})"
        if not isinstance(out, StepOutput) and not hasattr(out, "loss"):
            raise TypeError(f"model.step must return a StepOutput, got {type(out).__name__}")
        loss_value = float(out.loss.detach())
        if cfg.check_finite and not math.isfinite(loss_value):
            raise NonFiniteError(f"non-finite loss ({loss_value}) at {where}")
        scale = 1.0
        if cfg.loss_reduction == "sum_over_time":
            if out.time_steps is None:
                raise ValueError(
                    "loss_reduction='sum_over_time' needs StepOutput.time_steps from the model"
                )
            scale = float(out.time_steps)
        self.optimizer.zero_grad(set_to_none=True)
        (out.loss * scale if scale != 1.0 else out.loss).backward()
        for cb in self.callbacks:
            cb.on_after_backward(self, self.step + 1)
        measure = cfg.check_finite or bool(self.callbacks)
        grad_norm, clipped = clip_gradients(
            self.model.parameters(), cfg.clip_value, cfg.clip_norm, measure
        )
        if cfg.check_finite and grad_norm is not None and not math.isfinite(grad_norm):
            bad = ", ".join(nonfinite_gradients(self.model))
            raise NonFiniteError(f"non-finite gradient at {where} in {bad} (loss was {loss_value})")
        self.optimizer.step()
        self.step += 1
        return StepInfo(
            step=self.step,
            epoch=epoch,
            batch_index=index,
            loss=loss_value,
            count=float(out.count),
            grad_norm=grad_norm,
            clipped=clipped,
            lr=self.lr,
        )

    # ------------------------------------------------------------------ state
    def state_dict(self, epoch_complete: bool = True) -> dict[str, Any]:
        """The trainer's JSON state (for checkpoints)."""
        return {
            "epoch": self.epoch if epoch_complete else self.epoch + 1,
            "step": self.step,
            "epoch_complete": epoch_complete,
            "batches_done": 0 if epoch_complete else self._batches_done,
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "wall_s": self._wall(),
            "history": self.history,
            "rng": get_rng_state(),
            "rng_epoch_start": None if epoch_complete else self._rng_epoch_start,
            "train_config": to_dict(self.config),
        }

    def load_state(self, path: str | Path) -> int:
        """Restore model, optimizer, schedule, counters and RNG from the checkpoint at
        ``path``; returns how many batches of the current epoch to skip (0 at an epoch end)."""
        ckpt = load_checkpoint(path, map_location=self.device)
        ts = ckpt.trainer_state
        if ts is None or ckpt.optimizer_state is None:
            raise ValueError(
                f"{ckpt.path} has no trainer/optimizer state; it cannot be resumed "
                "(use checkpoints/last)"
            )
        restore_model_state(self.model, ckpt.model_state, ckpt.path)
        try:
            self.optimizer.load_state_dict(ckpt.optimizer_state)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{ckpt.path}: optimizer state does not fit ({exc})") from exc
        if ckpt.scheduler_state is not None:
            self.schedule.load_state_dict(ckpt.scheduler_state)
        self.step = int(ts["step"])
        self.best_value, self.best_epoch = ts["best_value"], ts["best_epoch"]
        self.bad_epochs = int(ts["bad_epochs"])
        self.history = list(ts.get("history", []))
        self._wall_before = float(ts.get("wall_s", 0.0))
        if ts["epoch_complete"]:
            self.epoch = int(ts["epoch"])
            set_rng_state(ts["rng"])
            return 0
        self.epoch = int(ts["epoch"]) - 1
        self._rng_epoch_start = ts["rng_epoch_start"]
        return int(ts["batches_done"])

    def _save(self, name: str, epoch_complete: bool, with_optimizer: bool = True) -> Path:
        last = self.history[-1] if self.history else {}
        metrics = {
            f"{split}_{k}": v
            for split in ("train", "valid")
            for k, v in last.get(split, {}).items()
        }
        return save_checkpoint(
            self.checkpoint_dir / name,
            self.model,
            vocab=self.vocab,
            run_config=self.run_config,
            metrics=metrics,
            optimizer=self.optimizer if with_optimizer else None,
            scheduler=self.schedule if with_optimizer else None,
            trainer_state=self.state_dict(epoch_complete),
        )

    # ------------------------------------------------------------------ output
    def _wall(self) -> float:
        return self._wall_before + time.perf_counter() - self._t0

    def _log(self, split: str, metrics: dict[str, float], epoch: int, lr: float) -> None:
        if self._logger is not None:
            self._logger.log(
                {
                    "epoch": epoch,
                    "step": self.step,
                    "split": split,
                    "metrics": metrics,
                    "lr": lr,
                    "wall_s": round(self._wall(), 3),
                    "time": time.time(),
                }
            )

    def _print_epoch(self, record: dict[str, Any]) -> None:
        if not self.config.progress:
            return
        parts = [f"epoch {record['epoch']}", f"lr {record['lr']:.4g}"]
        for split in ("train", "valid"):
            if split in record:
                m = record[split]
                parts.append(
                    split
                    + " "
                    + " ".join(
                        f"{k} {v:.4g}" for k, v in m.items() if k not in ("count", "tokens_per_s")
                    )
                )
        parts.append(f"{record['train'].get('tokens_per_s', 0):.0f} units/s")
        tqdm.write(" | ".join(parts), file=sys.stderr)

    def _result(self, stop_reason: str) -> dict[str, Any]:
        result: dict[str, Any] = {
            "epochs": self.epoch,
            "steps": self.step,
            "stop_reason": stop_reason,
        }
        if self.history:
            for split in ("train", "valid"):
                for k, v in self.history[-1].get(split, {}).items():
                    result[f"{split}_{k}"] = v
        split = "valid" if self.history and "valid" in self.history[-1] else "train"
        result[f"best_{split}_{self.config.monitor}"] = self.best_value
        result["best_epoch"] = self.best_epoch
        result["wall_s"] = self._wall()
        result["tokens_per_s"] = self._speed.rate
        ckdir = self.checkpoint_dir
        result["checkpoint_best"] = (
            str(ckdir / "best") if ckdir and (ckdir / "best").exists() else None
        )
        result["checkpoint_last"] = (
            str(ckdir / "last") if ckdir and (ckdir / "last").exists() else None
        )
        return result


def _short(metrics: dict[str, float], rate: float) -> dict[str, str]:
    out = {k: f"{metrics[k]:.3f}" for k in ("loss", "ppl", "accuracy") if k in metrics}
    out["tok/s"] = f"{rate:.0f}"
    return out
