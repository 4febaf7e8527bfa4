"""Distributed data-parallel training on PyTorch's own engine (``torch.distributed`` + DDP).

Launched by ``torchrun``, every rank runs the same ``rnnlab train ...`` command; torchrun
sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``, and :func:`init_distributed` joins the
process group (gloo on CPU, NCCL on CUDA, each rank on ``cuda:LOCAL_RANK``)::

    torchrun --nproc-per-node 2 -m rnnlab train lm --config ptb-small ...

What changes with W ranks (``training/trainer.py`` does it; see README "Scaling up"):

* the model is wrapped in ``DistributedDataParallel`` around :class:`StepModule`, whose
  ``forward`` is ``model.step``: DDP hooks ``forward``, so gradients are averaged on
  ``backward`` (calling ``model.step`` directly would leave them unsynchronised);
* the training data is sharded (``data.shard(rank, world_size)``: an LM's B columns become
  B / W per rank, so the global batch and the loss are those of one process);
* each rank draws its own dropout masks (seeded ``seed + rank``);
* the ranks agree every step on stopping (a signal, a divergence on any rank) and on
  saving, so no rank is left waiting in a collective while another has gone;
* only rank 0 writes checkpoints, logs and progress; a checkpoint holds every rank's RNG,
  partial totals and carried state, so a resume with the same world size is exact.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Distributed:
    """This process's place in the job (a single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: str) -> str:
        """``cuda`` / ``auto`` under torchrun means this rank's own GPU."""
        if self.active and requested in ("cuda", "auto") and torch.cuda.is_available():
            return f"cuda:{self.local_rank}"
        return requested

    # ---- collectives (no-ops for a single process) -----------------------------------
    def agree(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag true on any rank is true on every rank (one all-reduce)."""
        if not self.active:
            return tuple(bool(f) for f in flags)
        t = torch.tensor([float(f) for f in flags], device=_comm_device())
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return tuple(bool(v) for v in t.tolist())

    def sum_floats(self, values: list[float]) -> list[float]:
        """Element-wise sum over ranks (float64)."""
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=_comm_device())
        torch.distributed.all_reduce(t)
        return t.tolist()

    def gather(self, obj: Any) -> list[Any] | None:
        """Every rank's ``obj`` (JSON-like or tensors) on rank 0, None elsewhere."""
        if not self.active:
            return [obj]
        out: list[Any] | None = [None] * self.world_size if self.is_main else None
        torch.distributed.gather_object(obj, out, dst=0)
        return out

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()

    def in_sync(self, model: torch.nn.Module) -> bool:
        """Whether every rank holds exactly the same parameters (checksum max == min)."""
        if not self.active:
            return True
        with torch.no_grad():
            total = sum(
                float(p.double().sum()) + float((p.double() ** 2).sum()) for p in model.parameters()
            )
        t = torch.tensor([total, -total], dtype=torch.float64, device=_comm_device())
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return t[0].item() == -t[1].item()


_CURRENT = Distributed()


def _comm_device() -> torch.device:
    backend = torch.distributed.get_backend()
    if backend == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def current() -> Distributed:
    """The job this process belongs to (set by :func:`init_distributed`)."""
    return _CURRENT


def init_distributed(device: str = "cpu", timeout_s: float = 1800.0) -> Distributed:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1); idempotent.
    Without torchrun, a single process (rank 0 of 1)."""
    global _CURRENT
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _CURRENT
    if not torch.distributed.is_available():
        raise RuntimeError("this torch build has no torch.distributed")
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not torch.distributed.is_initialized():
        cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
        if cuda:
            torch.cuda.set_device(local)
        torch.distributed.init_process_group(
            backend="nccl" if cuda else "gloo",
            timeout=datetime.timedelta(seconds=timeout_s),
        )
    _CURRENT = Distributed(rank=rank, world_size=world, local_rank=local)
    return _CURRENT


def shutdown() -> None:
    """Leave the process group (at the end of a run)."""
    global _CURRENT
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    _CURRENT = Distributed()


class StepModule(torch.nn.Module):
    """``forward(batch, state) = model.step(batch, state)``, for DDP to wrap."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any, state: Any) -> Any:
        return self.model.step(batch, state)


def wrap(model: torch.nn.Module, dist: Distributed, device: torch.device) -> Any:
    """The callable that runs one training step: ``model.step``, or DDP around it."""
    if not dist.active:
        return model.step
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(StepModule(model), device_ids=ids)
