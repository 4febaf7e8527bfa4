"""The model contract: the few methods through which the trainer sees any model.

The trainer knows nothing about language models, classifiers or taggers. A trainable
model is a ``torch.nn.Module`` that also has (see ``docs/ARCHITECTURE.md``)::

    config: a frozen dataclass            # JSON-serialisable with dataclasses.asdict
    model_type: ClassVar[str]             # registry key, e.g. "language_model"
    initial_state(batch_size, device)     # state carried across batches, or None
    detach_state(state)                   # cut the graph (truncated BPTT); identity if stateless
    step(batch, state) -> StepOutput      # forward + loss on one batch
    summarize(totals) -> dict[str, float] # e.g. mean loss -> perplexity, correct -> accuracy

``step`` returns ``StepOutput(loss, count, state, sums, time_steps)``:

* ``loss``: a scalar tensor, the MEAN loss over ``count`` units (tokens, sentences);
* ``count``: how many units the mean is over (the trainer's tokens/s is ``count`` per second);
* ``state``: the state to carry into the next batch (None for stateless models);
* ``sums``: extra statistics summed over the batch, e.g. ``{"correct": 17.0}``;
* ``time_steps``: the number of time steps in the batch (e.g. the BPTT window), needed only
  when the run uses ``loss_reduction = "sum_over_time"`` (see ``rnnlab.training.trainer``).

``initial_state`` is called at the start of every epoch (and of every evaluation) with
``batch_size = data.batch_size`` when the data object declares it, else None (a model may
then return None and build its state in ``step``). ``detach_state`` is called after every
step. The model's train/eval mode is set by the trainer.

Over an epoch the trainer accumulates ``totals = {"loss_sum": sum(loss * count),
"count": sum(count), **summed sums}`` and adds ``totals["loss"] = loss_sum / count`` (the mean).
``summarize(totals)`` turns them into the metrics to report, e.g. ``{"loss": 4.6, "ppl": 99.5}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import torch


class StepOutput(NamedTuple):
    """What ``model.step(batch, state)`` returns (a tuple, so it also unpacks)."""

    loss: torch.Tensor  # scalar: mean loss over `count` units, still attached to the graph
    count: float  # units the mean is over (tokens, sentences, labels)
    state: Any = None  # carried into the next batch; None when stateless
    sums: Mapping[str, float] | None = None  # extra summed statistics, e.g. {"correct": 17.0}
    time_steps: int | None = None  # time steps in the batch; for loss_reduction="sum_over_time"


@runtime_checkable
class TrainableModel(Protocol):
    """Structural type of a model the trainer can train (documentation and isinstance)."""

    config: Any
    model_type: ClassVar[str]

    def initial_state(self, batch_size: int | None, device: torch.device) -> Any: ...

    def detach_state(self, state: Any) -> Any: ...

    def step(self, batch: Any, state: Any) -> StepOutput: ...

    def summarize(self, totals: Mapping[str, float]) -> dict[str, float]: ...


CONTRACT_METHODS = ("initial_state", "detach_state", "step", "summarize")


def check_model_contract(model: Any) -> None:
    """Raise TypeError naming the missing parts if ``model`` cannot be trained."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    missing = [name for name in CONTRACT_METHODS if not callable(getattr(model, name, None))]
    if missing:
        raise TypeError(
            f"{type(model).__name__} does not implement the model contract: missing "
            f"{', '.join(missing)} (see rnnlab.training.contract)"
        )


def summarize_loss(totals: Mapping[str, float]) -> dict[str, float]:
    """A ready-made ``summarize`` for models whose loss is a mean negative log-likelihood:
    reports ``loss`` and ``ppl = exp(loss)`` (inf when it overflows)."""
    from rnnlab.training.metrics import perplexity

    loss = float(totals["loss"])
    return {"loss": loss, "ppl": perplexity(loss)}
