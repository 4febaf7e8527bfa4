"""The model-agnostic trainer: every task (LM, classifier, tagger, seq2seq) trains through it.

The trainer sees a model only through the contract of ``rnnlab.training.contract``
(``initial_state``, ``detach_state``, ``step -> StepOutput``, ``summarize``), and data only as
re-iterable collections of batches (a list, or an object whose ``__iter__`` starts a fresh
epoch). Optional data attributes: ``batch_size`` (passed to ``model.initial_state``),
``__len__`` (progress bar), ``set_epoch(epoch)`` (the data orders or shuffles itself for that
epoch from its own seed, never from the global generators; exact resume relies on it).

Usage::

    cfg = TrainConfig(optimizer="sgd", lr=20.0, clip_norm=0.25, epochs=13,
                      schedule="step", decay_start=5, gamma=0.5, seed=1)
    seed_everything(cfg.seed)                     # before building the model
    model = LanguageModel(model_cfg)
    trainer = Trainer(model, cfg, run_dir="runs/ptb-small", vocabs={"tokens": vocab})
    result = trainer.fit(train_batches, valid_batches)        # or resume_from=".../last"
    result["valid_ppl"], result["tokens_per_s"], result["wall_s"]

One epoch::

    data.set_epoch(epoch); model.train(); state = model.initial_state(batch_size, device)
    for batch in data (skipping the batches a resumed run already trained):
        out = model.step(batch, state)                  # StepOutput(loss, count, state, ...)
        stop if the loss is not finite or above max_loss (TrainingDiverged)
        (out.loss * scale).backward()                   # scale: see "Learning rate" below
        callbacks.on_after_backward; stop on a non-finite gradient (NonFiniteError)
        clip by value, then by global norm; optimizer.step() (lr * T / bptt with
        scale_lr_by_window); global_step += 1; NT-ASGD: fold the weights into the average
        state = model.detach_state(out.state)           # truncated BPTT
        every checkpoint_every_steps / _minutes: save last (mid-epoch, exact)
        on SIGINT / SIGTERM: save last, raise TrainingInterrupted
    validation (also interruptible; NT-ASGD: on the averaged weights), lr schedule, the
    NT-ASGD trigger, early stopping, checkpoints best (averaged weights) + last (raw ones)

Learning rate and loss: with ``loss_reduction="mean"`` (default) the optimizer sees the
model's mean loss per unit (token), so lr and clip_norm are per-token quantities
(pytorch/examples' word LM: lr 20, clip 0.25). With ``"sum_over_time"`` the trainer
backpropagates ``loss * out.time_steps`` (Zaremba et al. 2014: lr 1, clip 5, bptt 20).
Reported losses are always the mean per unit.

Random BPTT (AWD-LSTM): with ``scale_lr_by_window`` each step's lr is multiplied by
``out.time_steps / data.bptt`` for that step only (``optim.scaled_lr``). With
``optimizer="nt_asgd"`` the trainer switches from SGD to averaging the iterates when the
monitored value stops improving (``rnnlab.training.averaging``); ``fit`` then leaves the
averaged weights in the model and reports ``asgd_start_epoch``.

Resume is exact: ``last`` holds the weights, the optimizer, the schedule, the
:class:`~rnnlab.training.resume.TrainerState` (epoch, phase, batches done, partial totals,
every RNG) and the model's carried state, so a run stopped anywhere — mid-epoch, during
validation, by ``kill -9`` during a save — and resumed ends with bit-identical weights (CPU,
same thread count and ``deterministic`` mode on GPU).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from rnnlab.training import distributed
from rnnlab.training.averaging import NTAverage
from rnnlab.training.callbacks import Callback, StepInfo, TensorBoardLogger
from rnnlab.training.checkpoint import save_checkpoint
from rnnlab.training.checkpoint_format import CheckpointError
from rnnlab.training.checkpoint_load import load_checkpoint, restore_model_state
from rnnlab.training.config import ConfigError, TrainConfig, to_dict
from rnnlab.training.contract import StepOutput, check_model_contract
from rnnlab.training.evaluation import (
    EvaluationStopped,
    batch_size_of,
    evaluate,
    move_to_device,
    resolve_device,
    summarize_totals,
)
from rnnlab.training.gradients import clip_gradients, nonfinite_gradients
from rnnlab.training.metrics import JSONLLogger, Throughput, Totals, truncate_jsonl
from rnnlab.training.optim import build_optimizer, build_schedule, nominal_window, scaled_lr
from rnnlab.training.resume import (
    ResumeError,
    TrainerState,
    totals_from_dict,
    totals_to_dict,
)
from rnnlab.training.seeding import (
    deterministic_mode,
    get_rng_state,
    seed_everything,
    set_rng_state,
)


class TrainingDiverged(FloatingPointError):
    """The training loss became non-finite or exceeded ``max_loss``; nothing was saved for
    the diverged steps. ``checkpoint`` is the last good ``last`` (or None)."""

    def __init__(self, message: str, checkpoint: Path | None = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


class NonFiniteError(TrainingDiverged):
    """The loss or a gradient became NaN or infinite; the message names the step."""


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT / SIGTERM during ``fit``: ``checkpoint`` is where ``last`` was saved (or None),
    ``signal_name`` which signal stopped the run."""

    def __init__(
        self,
        message: str,
        checkpoint: Path | None,
        result: dict[str, Any],
        signal_name: str = "SIGINT",
    ) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint
        self.result = result
        self.signal_name = signal_name


class _Stop(Exception):
    """Internal: a stop was requested by a signal."""


class Trainer:
    """Trains any model implementing the contract; see the module docstring.

    Args:
        model: the model (moved to ``config.device``).
        config: the trainer's options (:class:`TrainConfig`).
        run_dir: where metrics.jsonl and checkpoints go; None keeps nothing on disk.
        vocabs: name -> vocabulary, saved with every checkpoint.
        task: the task name saved with every checkpoint ("lm", "classify", ...).
        run_config: the run's resolved config, saved with every checkpoint.
        run_info: facts about the run (data directory, fingerprints), saved likewise.
        callbacks: :class:`Callback` instances.
        optimizer: use this optimizer instead of building one from ``config``.
        validation_hook: ``hook(model, valid_data) -> metrics`` run after each validation
            (e.g. BLEU of decoded translations); its metrics join the validation ones.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        config: TrainConfig,
        *,
        run_dir: str | Path | None = None,
        vocabs: Mapping[str, Any] | None = None,
        task: str | None = None,
        run_config: Any = None,
        run_info: Mapping[str, Any] | None = None,
        callbacks: Sequence[Callback] = (),
        optimizer: torch.optim.Optimizer | None = None,
        validation_hook: Callable[[Any, Any], Mapping[str, float]] | None = None,
    ) -> None:
        check_model_contract(model)
        names = getattr(model, "metric_names", None)
        if names is not None and config.monitor not in names:
            raise ConfigError(
                f"train.monitor={config.monitor!r} is not a metric of {type(model).__name__}; "
                f"it reports {', '.join(names)}"
            )
        self.config = config
        self.dist = distributed.current()
        self.device = resolve_device(self.dist.device(config.device))
        self.model = model.to(self.device)
        self._step_fn = distributed.wrap(self.model, self.dist, self.device)
        self._autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.precision)
        self.scaler = torch.amp.GradScaler(self.device.type) if config.precision == "fp16" else None
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.vocabs = dict(vocabs or {})
        self.task = task
        self.run_config = run_config
        self.run_info = dict(run_info or {})
        self.unit = getattr(model, "unit", "tokens")  # names the throughput metric
        self.callbacks = list(callbacks)
        self.validation_hook = validation_hook
        if config.tensorboard and self.run_dir is not None and self.dist.is_main:
            self.callbacks.append(TensorBoardLogger(str(self.run_dir / "tb")))
        self.optimizer = optimizer or build_optimizer(self.model, config)
        self.schedule = build_schedule(self.optimizer, config)
        self.averaging = (
            NTAverage(self.optimizer, config.nonmono) if config.optimizer == "nt_asgd" else None
        )
        self._window: int | None = None  # data.bptt, with scale_lr_by_window
        self.state = TrainerState()
        self._totals, self._interval = Totals(), Totals()
        self._carry: Any = None
        self._logger: JSONLLogger | None = None
        self._stop_signal: int | None = None
        self._t0 = time.perf_counter()
        self._wall_before = 0.0
        self._last_save = time.monotonic()
        self._speed = Throughput()
        self._epoch_speed = 0.0
        self._stop_after = self._save_after = False  # agreed by every rank before a step

    # ------------------------------------------------------------------ public
    @property
    def global_step(self) -> int:
        """Optimizer steps taken so far in the whole run."""
        return self.state.global_step

    @property
    def epoch(self) -> int:
        """The last completed epoch."""
        return self.state.epoch if self.state.phase == "done" else self.state.epoch - 1

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.state.history

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @property
    def checkpoint_dir(self) -> Path | None:
        return self.run_dir / "checkpoints" if self.run_dir is not None else None

    @property
    def speed_key(self) -> str:
        return f"{self.unit}_per_s"

    def evaluate(self, data: Iterable[Any], max_batches: int | None = None) -> dict[str, float]:
        """Metrics of the model on ``data`` (no gradients); see :func:`evaluation.evaluate`."""
        metrics = evaluate(self.model, data, device=self.device, max_batches=max_batches)
        metrics[self.speed_key] = metrics.pop("units_per_s")
        return metrics

    def request_stop(self, signum: int = signal.SIGINT) -> None:
        """Ask ``fit`` to save ``last`` and stop at the next batch boundary (what SIGINT and
        SIGTERM do)."""
        self._stop_signal = signum

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
        ("epochs", "early_stopping", "max_steps"), ``wall_s``, ``<unit>_per_s`` (training
        units per second, validation excluded), ``checkpoint_best``, ``checkpoint_last``.
        Raises TrainingDiverged (NonFiniteError) when the loss diverges,
        TrainingInterrupted on SIGINT / SIGTERM (after saving ``last``).
        """
        cfg = self.config
        self._t0 = time.perf_counter()
        self._last_save = time.monotonic()
        self._speed = Throughput()
        with contextlib.ExitStack() as stack:
            stack.enter_context(deterministic_mode(cfg.deterministic))
            if cfg.num_threads is not None:
                prev = torch.get_num_threads()
                torch.set_num_threads(cfg.num_threads)
                stack.callback(torch.set_num_threads, prev)
            if resume_from is not None:
                self.load_state(resume_from)
            else:  # each rank its own dropout masks; one process: exactly `seed`
                seed_everything(cfg.seed + self.dist.rank)
                self.state.world_size = self.dist.world_size
            if self.run_dir is not None and self.dist.is_main:
                path = self.run_dir / "metrics.jsonl"
                truncate_jsonl(path, self.state.metrics_records)  # drop records after the save
                self._logger = stack.enter_context(JSONLLogger(path))
                self._logger.records = self.state.metrics_records
                stack.callback(setattr, self, "_logger", None)
            stack.enter_context(self._signals())
            for cb in self.callbacks:
                cb.on_train_start(self)
            stop_reason = "epochs"
            try:
                while stop_reason == "epochs":
                    if self.state.phase == "done":
                        if self.state.epoch >= cfg.epochs:
                            break
                        self.state.epoch += 1
                        self.state.phase, self.state.batches_done = "train", 0
                        self._totals, self._interval, self._carry = Totals(), Totals(), None
                    stop_reason = self._run_epoch(self.state.epoch, train_data, valid_data)
            except _Stop:
                raise self._interrupted() from None
            except KeyboardInterrupt:  # a second signal: stop now, mid-step, save nothing
                last = self._last_good()
                raise TrainingInterrupted(
                    f"stopped immediately at step {self.state.global_step} without saving"
                    + (f"; the last checkpoint is {last}" if last else ""),
                    last,
                    self._result("interrupted"),
                ) from None
            if self.averaging is not None:  # what validation and `best` saw (`last`: raw)
                self.averaging.load_average_into_params()
            result = self._result(stop_reason)
            for cb in self.callbacks:
                cb.on_train_end(self, result)
        return result

    # ------------------------------------------------------------------ epochs
    def _run_epoch(self, epoch: int, train_data: Any, valid_data: Any) -> str:
        cfg, st = self.config, self.state
        lr = self.schedule.start_epoch(epoch)
        if st.phase == "train":
            for cb in self.callbacks:
                cb.on_epoch_start(self, epoch)
            hit_max_steps = self._train_epoch(epoch, train_data)
            st.phase = "validate"
        else:  # resumed after the training part of this epoch
            hit_max_steps = cfg.max_steps is not None and st.global_step >= cfg.max_steps
        if self._totals.count == 0:
            raise ValueError("training data yielded no batches")
        train_metrics = summarize_totals(self.model, self._global(self._totals))
        train_metrics[self.speed_key] = self._epoch_speed
        valid_metrics = None
        if valid_data is not None:
            try:
                with self._eval_weights():
                    valid_metrics = evaluate(
                        self.model,
                        valid_data,
                        device=self.device,
                        should_stop=lambda: self.dist.agree(self._stopping())[0],
                    )
            except EvaluationStopped:
                raise _Stop from None
            valid_metrics[self.speed_key] = valid_metrics.pop("units_per_s")
            if self.validation_hook is not None:  # e.g. BLEU of decoded translations
                with torch.no_grad():
                    valid_metrics.update(self.validation_hook(self.model, valid_data))
        watched = valid_metrics if valid_metrics is not None else train_metrics
        if cfg.monitor not in watched:
            raise ConfigError(
                f"train.monitor={cfg.monitor!r} is not among the metrics {sorted(watched)} "
                "returned by model.summarize"
            )
        value = float(watched[cfg.monitor])
        sign = 1.0 if cfg.monitor_mode == "min" else -1.0
        improved = math.isfinite(value) and (
            st.best_value is None or sign * value < sign * st.best_value
        )
        if improved:
            st.best_value, st.best_epoch, st.bad_epochs = value, epoch, 0
        else:
            st.bad_epochs += 1
        self.schedule.end_epoch(value)
        switched = self.averaging is not None and self.averaging.end_epoch(epoch, sign * value)
        record = {"epoch": epoch, "lr": lr, "train": train_metrics}
        if valid_metrics is not None:
            record["valid"] = valid_metrics
        st.history.append(record)
        st.phase = "done"
        self._log("train", train_metrics, epoch, lr)
        if valid_metrics is not None:
            self._log("valid", valid_metrics, epoch, lr)
        self._print_epoch(record)
        if switched:
            self._log_asgd_start(epoch, value, lr)
        stop = "epochs"
        if hit_max_steps:
            stop = "max_steps"
        elif cfg.early_stopping_patience and st.bad_epochs >= cfg.early_stopping_patience:
            stop = "early_stopping"
        if self.checkpoint_dir is not None:
            self._save("last")  # first: a kill before `best` is written is repaired on resume
            if improved:
                with self._eval_weights():
                    self._save("best", with_optimizer=False)
        metrics = {k: v for k, v in record.items() if k in ("train", "valid")}
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, metrics)
        return stop

    def _train_epoch(self, epoch: int, data: Any) -> bool:
        cfg, model, st = self.config, self.model, self.state
        if callable(getattr(data, "set_epoch", None)):
            data.set_epoch(epoch)
        if cfg.scale_lr_by_window:
            self._window = nominal_window(data)
        model.train()
        skip = st.batches_done
        state = self._carry if skip else model.initial_state(batch_size_of(data), self.device)
        total = len(data) if hasattr(data, "__len__") else None
        bar = tqdm(
            total=total,
            initial=skip,
            desc=f"epoch {epoch}",
            disable=not cfg.progress or not self.dist.is_main,
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.1 if sys.stderr.isatty() else 30.0,  # keep log files small
        )
        hit_max_steps = False
        speed = Throughput()  # this epoch; self._speed: the whole fit
        speed.start()
        self._speed.start()
        try:
            for index, batch in enumerate(itertools.islice(iter(data), skip, None), start=skip):
                with self._autocast():
                    out = self._step_fn(move_to_device(batch, self.device), state)
                info = self._optimize(out, epoch, index)
                state = model.detach_state(out.state)
                st.batches_done = index + 1
                self._carry = state
                self._totals.add(info.loss, out.count, out.sums)
                self._interval.add(info.loss, out.count, out.sums)
                speed.add(out.count)
                self._speed.add(out.count)
                for cb in self.callbacks:
                    cb.on_step_end(self, info)
                bar.update(1)
                if cfg.progress and st.global_step % 10 == 0:
                    m = summarize_totals(model, self._totals)
                    bar.set_postfix(_short(m, speed.rate, self.unit), refresh=False)
                if cfg.log_interval and st.global_step % cfg.log_interval == 0:
                    interval = self._global(self._interval)  # every rank: a collective
                    rate = speed.rate * self.dist.world_size
                    m = {**summarize_totals(model, interval), self.speed_key: rate}
                    self._log("train_interval", m, epoch, self.lr)
                    self._interval = Totals()
                if cfg.max_steps is not None and st.global_step >= cfg.max_steps:
                    hit_max_steps = True
                    break
                if self._stop_after or (not self.dist.active and self._stopping()):
                    raise _Stop  # several ranks stop where they agreed to, before the step
                if self._save_after:
                    self._save("last")
        finally:
            speed.stop()
            self._speed.stop()
            bar.close()
            self._epoch_speed = speed.rate
        return hit_max_steps

    def _optimize(self, out: StepOutput, epoch: int, index: int) -> StepInfo:
        """Backward, checks, clipping and the optimizer step for one batch."""
        cfg, st = self.config, self.state
        where = f"step {st.global_step + 1} (epoch {epoch}, batch {index})"
        if not isinstance(out, StepOutput) and not hasattr(out, "loss"):
            raise TypeError(f"model.step must return a StepOutput, got {type(out).__name__}")
        loss_value = float(out.loss.detach())
        if st.first_loss is None:
            st.first_loss = self._first_loss(loss_value)
        bound = self._loss_bound()
        nonfinite = cfg.check_finite and not math.isfinite(loss_value)
        too_big = bound is not None and loss_value > bound
        # every rank decides together, before the collective backward: stop, save, diverge
        nonfinite, too_big, self._stop_after, self._save_after = self.dist.agree(
            nonfinite, too_big, self._stopping(), self._periodic_save_due(st.global_step + 1)
        )
        if nonfinite:
            raise NonFiniteError(
                self._diverged(f"non-finite loss ({loss_value}) at {where}"), self._last_good()
            )
        if too_big:
            raise TrainingDiverged(
                self._diverged(f"the loss diverged at {where}: {loss_value:.4g} > {bound:.4g}"),
                self._last_good(),
            )
        scale = 1.0
        if cfg.loss_reduction == "sum_over_time":
            if out.time_steps is None:
                raise ValueError(
                    "loss_reduction='sum_over_time' needs StepOutput.time_steps from the model"
                )
            scale = float(out.time_steps)
        self.optimizer.zero_grad(set_to_none=True)
        loss = out.loss * scale if scale != 1.0 else out.loss
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)  # clip and check the true gradients
        for cb in self.callbacks:
            cb.on_after_backward(self, st.global_step + 1)
        measure = cfg.check_finite or bool(self.callbacks)
        grad_norm, clipped = clip_gradients(
            self.model.parameters(), cfg.clip_value, cfg.clip_norm, measure
        )
        fp16_skip = self.scaler is not None  # fp16: the scaler skips non-finite steps itself
        if (
            cfg.check_finite
            and not fp16_skip
            and grad_norm is not None
            and not math.isfinite(grad_norm)
        ):
            bad = ", ".join(nonfinite_gradients(self.model))
            raise NonFiniteError(
                self._diverged(
                    f"non-finite gradient at {where} in {bad} (loss was {loss_value:.4g})"
                ),
                self._last_good(),
            )
        with scaled_lr(self.optimizer, self._lr_scale(out)):
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
        if self.averaging is not None:
            self.averaging.after_step()
        st.global_step += 1
        return StepInfo(
            step=st.global_step,
            epoch=epoch,
            batch_index=index,
            loss=loss_value,
            count=float(out.count),
            grad_norm=grad_norm,
            clipped=clipped,
            lr=self.lr,
        )

    def _lr_scale(self, out: StepOutput) -> float:
        """``T / bptt`` for this step with ``scale_lr_by_window``, else 1."""
        if not self.config.scale_lr_by_window:
            return 1.0
        if out.time_steps is None:
            raise ValueError(
                "train.scale_lr_by_window needs StepOutput.time_steps (the window length) "
                "from model.step"
            )
        return float(out.time_steps) / self._window

    @contextlib.contextmanager
    def _eval_weights(self):
        """The weights that are validated and saved as ``best``: NT-ASGD's average once it
        has started, else the trained ones."""
        if self.averaging is None:
            yield
        else:
            with self.averaging.averaged_weights():
                yield

    def _log_asgd_start(self, epoch: int, value: float, lr: float) -> None:
        self._log("event", {}, epoch, lr, event="asgd_start", asgd_start_epoch=epoch + 1)
        if self.config.progress and self.dist.is_main:
            message = self.averaging.switch_message(epoch, self.config.monitor, value)
            tqdm.write(message, file=sys.stderr)

    def _first_loss(self, loss: float) -> float:
        """The run's first loss, the same on every rank (the divergence bound uses it)."""
        if not self.dist.active:
            return loss
        total, n = self.dist.sum_floats([loss if math.isfinite(loss) else 0.0, 1.0])
        return total / n

    def _global(self, totals: Totals) -> Totals:
        """The totals summed over ranks (each rank trains on its own shard)."""
        if not self.dist.active:
            return totals
        keys = sorted(totals.sums)
        sums = [totals.sums[k] for k in keys]
        values = self.dist.sum_floats([totals.loss_sum, totals.count, *sums])
        out = Totals()
        out.loss_sum, out.count = values[0], values[1]
        out.sums = dict(zip(keys, values[2:]))
        return out

    @contextlib.contextmanager
    def _autocast(self):
        if self._autocast_dtype is None:
            yield
        else:
            with torch.autocast(self.device.type, dtype=self._autocast_dtype):
                yield

    def _loss_bound(self) -> float | None:
        cfg = self.config
        if cfg.max_loss == "auto":
            return 100.0 * max(1.0, self.state.first_loss or 1.0)
        return cfg.max_loss

    def _last_good(self) -> Path | None:
        ckdir = self.checkpoint_dir
        return ckdir / "last" if ckdir is not None and (ckdir / "last").is_dir() else None

    def _diverged(self, what: str) -> str:
        last = self._last_good()
        kept = (
            f"; nothing was saved for the diverged steps, the last good checkpoint is {last}"
            if last
            else "; nothing was saved"
        )
        return (
            f"training stopped: {what}{kept}. Lower the learning rate or clip the gradients "
            "(e.g. --set train.clip_norm=0.25)"
        )

    # ------------------------------------------------------------------ stopping
    @contextlib.contextmanager
    def _signals(self):
        """SIGINT and SIGTERM request a clean stop (save ``last``); a second one raises."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {}

        def handler(signum, frame):
            if self._stop_signal is not None:  # asked twice: stop now
                raise KeyboardInterrupt
            self._stop_signal = signum

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def _stopping(self) -> bool:
        return self._stop_signal is not None

    def _periodic_save_due(self, step: int) -> bool:
        """Whether ``last`` is to be saved after optimizer step ``step``."""
        cfg = self.config
        if self.checkpoint_dir is None:
            return False
        every = cfg.checkpoint_every_steps
        if every and step % every == 0:
            return True
        minutes = cfg.checkpoint_every_minutes
        return bool(minutes) and time.monotonic() - self._last_save >= 60.0 * minutes

    def _interrupted(self) -> TrainingInterrupted:
        name = signal.Signals(self._stop_signal or signal.SIGINT).name
        path = None
        if self.checkpoint_dir is not None:
            path = self._save("last")
        where = (
            f"epoch {self.state.epoch}, after batch {self.state.batches_done}"
            if self.state.phase == "train"
            else f"epoch {self.state.epoch}, {self.state.phase}"
        )
        msg = f"{name}: training stopped at step {self.state.global_step} ({where})"
        if path:
            msg += f"; saved {path}"
        return TrainingInterrupted(msg, path, self._result("interrupted"), name)

    # ------------------------------------------------------------------ state
    def _rank_state(self) -> dict[str, Any]:
        """What differs between ranks: random generators, partial totals."""
        return {
            "rng": get_rng_state(),
            "totals": totals_to_dict(self._totals),
            "interval": totals_to_dict(self._interval),
        }

    def trainer_state(self, ranks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The trainer's JSON state (for checkpoints); ``ranks``: every rank's
        :meth:`_rank_state` when the run has several."""
        st = self.state
        own = self._rank_state()
        st.totals, st.interval, st.rng = own["totals"], own["interval"], own["rng"]
        st.wall_s = self._wall()
        st.metrics_records = self._logger.records if self._logger is not None else 0
        st.train_config = to_dict(self.config)
        st.world_size = self.dist.world_size
        st.ranks = ranks if self.dist.active and ranks is not None else []
        st.scaler = self.scaler.state_dict() if self.scaler is not None else None
        st.averaging = self.averaging.state_dict() if self.averaging is not None else None
        return st.to_dict()

    def load_state(self, path: str | Path) -> None:
        """Restore model, optimizer, schedule, counters, partial totals, carried state and
        every RNG from the checkpoint at ``path`` (a ``last`` saved by this trainer)."""
        ckpt = load_checkpoint(path, map_location=self.device, resume=True)
        where = str(ckpt.path / "trainer_state.json")
        state = TrainerState.from_dict(ckpt.trainer_state, where)
        if state.world_size != self.dist.world_size:
            raise ResumeError(
                f"{ckpt.path} was saved by a run of {state.world_size} process(es); resume it "
                f"with the same number (this one has {self.dist.world_size})"
            )
        restore_model_state(self.model, ckpt.model_state, ckpt.path)
        if ckpt.optimizer_state is not None:
            try:
                self.optimizer.load_state_dict(ckpt.optimizer_state)
            except (ValueError, KeyError, TypeError, IndexError, RuntimeError) as exc:
                raise ResumeError(f"{ckpt.path}: optimizer state does not fit ({exc})") from exc
        if ckpt.scheduler_state is not None:
            try:
                self.schedule.load_state_dict(ckpt.scheduler_state)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ResumeError(f"{where}: schedule state does not fit ({exc})") from exc
        if self.averaging is not None and state.averaging is not None:
            try:
                self.averaging.load_state_dict(state.averaging)
            except (ValueError, KeyError, TypeError) as exc:
                raise ResumeError(f"{where}: the NT-ASGD state does not fit ({exc})") from exc
        own = state.ranks[self.dist.rank] if self.dist.active else vars(state)
        carry = ckpt.carry
        try:
            self._totals = totals_from_dict(own["totals"])
            self._interval = totals_from_dict(own["interval"])
            set_rng_state(own["rng"])
            if self.scaler is not None and state.scaler is not None:
                self.scaler.load_state_dict(state.scaler)
            if self.dist.active and carry is not None:
                carry = carry[self.dist.rank]
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ResumeError(f"{where}: totals or RNG state are malformed ({exc})") from exc
        self._carry = move_to_device(carry, self.device) if carry is not None else None
        self.state = state
        self._wall_before = state.wall_s
        self._repair_best()

    def _repair_best(self) -> None:
        """A run killed after saving ``last`` but before ``best`` at the end of an improving
        epoch: ``last`` holds exactly those weights, so ``best`` is written from them."""
        st, ckdir = self.state, self.checkpoint_dir
        if ckdir is None or st.phase != "done" or st.best_epoch != st.epoch:
            return
        from rnnlab.training.checkpoint import recover_checkpoint

        recover_checkpoint(ckdir / "best")
        try:
            best_epoch = load_checkpoint(ckdir / "best").config.get("epoch")
        except CheckpointError:
            best_epoch = None
        if best_epoch != st.epoch:
            with self._eval_weights():
                self._save("best", with_optimizer=False)

    def _save(self, name: str, with_optimizer: bool = True) -> Path:
        """Write checkpoint ``name``. With several ranks every rank calls this at the same
        point (the ranks agreed on it); rank 0 gathers their states and writes."""
        path = self.checkpoint_dir / name
        mid_epoch = self.state.phase == "train" and self.state.batches_done > 0
        carry = self._carry if with_optimizer and mid_epoch else None
        ranks = carries = None
        if with_optimizer and self.dist.active:
            gathered = self.dist.gather((self._rank_state(), carry))
            if gathered is not None:
                ranks = [g[0] for g in gathered]
                carries = [g[1] for g in gathered]
                carry = carries if any(c is not None for c in carries) else None
        if self.dist.is_main:
            last = self.state.history[-1] if self.state.history else {}
            metrics = {
                f"{split}_{k}": v
                for split in ("train", "valid")
                for k, v in last.get(split, {}).items()
            }
            save_checkpoint(
                path,
                self.model,
                task=self.task,
                vocabs=self.vocabs,
                run_config=self.run_config,
                run_info={**self.run_info, "world_size": self.dist.world_size},
                metrics=metrics,
                optimizer=self.optimizer if with_optimizer else None,
                scheduler=self.schedule if with_optimizer else None,
                trainer_state=self.trainer_state(ranks) if with_optimizer else None,
                carry=carry,
                epoch=self.state.epoch,
                global_step=self.state.global_step,
            )
        self.dist.barrier()  # no rank reads a checkpoint another is still writing
        if with_optimizer:
            self._last_save = time.monotonic()
        return path

    # ------------------------------------------------------------------ output
    def _wall(self) -> float:
        return self._wall_before + time.perf_counter() - self._t0

    def _log(
        self, split: str, metrics: dict[str, float], epoch: int, lr: float, **extra: Any
    ) -> None:
        if self._logger is not None:
            self._logger.log(
                {
                    "epoch": epoch,
                    "step": self.state.global_step,
                    "split": split,
                    **extra,
                    "metrics": metrics,
                    "lr": lr,
                    "wall_s": round(self._wall(), 3),
                    "time": time.time(),
                }
            )

    def _print_epoch(self, record: dict[str, Any]) -> None:
        if not self.config.progress or not self.dist.is_main:
            return
        parts = [f"epoch {record['epoch']}", f"lr {record['lr']:.4g}"]
        for split in ("train", "valid"):
            if split in record:
                m = record[split]
                shown = " ".join(
                    f"{k} {v:.4g}"
                    for k, v in m.items()
                    if k != "count" and not k.endswith("_per_s")
                )
                parts.append(f"{split} {shown}")
        parts.append(f"{record['train'].get(self.speed_key, 0):.0f} {self.unit}/s")
        tqdm.write(" | ".join(parts), file=sys.stderr)

    def _result(self, stop_reason: str) -> dict[str, Any]:
        st = self.state
        result: dict[str, Any] = {
            "epochs": self.epoch,
            "steps": st.global_step,
            "stop_reason": stop_reason,
        }
        if st.history:
            for split in ("train", "valid"):
                for k, v in st.history[-1].get(split, {}).items():
                    result[f"{split}_{k}"] = v
        split = "valid" if st.history and "valid" in st.history[-1] else "train"
        result[f"best_{split}_{self.config.monitor}"] = st.best_value
        result["best_epoch"] = st.best_epoch
        if self.averaging is not None:
            result["asgd_start_epoch"] = self.averaging.start_epoch
        result["wall_s"] = self._wall()
        result[self.speed_key] = self._speed.rate * self.dist.world_size  # all ranks
        result["world_size"] = self.dist.world_size
        if self.dist.active and stop_reason != "interrupted":
            result["ranks_in_sync"] = self.dist.in_sync(self.model)
        ckdir = self.checkpoint_dir
        for name in ("best", "last"):
            exists = ckdir is not None and (ckdir / name).exists()
            result[f"checkpoint_{name}"] = str(ckdir / name) if exists else None
        return result


def _short(metrics: dict[str, float], rate: float, unit: str) -> dict[str, str]:
    out = {k: f"{metrics[k]:.3f}" for k in ("loss", "ppl", "accuracy") if k in metrics}
    out[f"{unit[:3]}/s"] = f"{rate:.0f}"
    return out
