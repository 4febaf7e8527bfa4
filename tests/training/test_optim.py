"""Optimisers and learning-rate schedules."""

from __future__ import annotations

import math

import pytest
import torch

from rnnlab.training import TrainConfig, build_optimizer, build_schedule


def _schedule(**kw):
    cfg = TrainConfig(**kw)
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(2))], cfg)
    return opt, build_schedule(opt, cfg)


def test_optimizers_built_from_config():
    p = [torch.nn.Parameter(torch.zeros(2))]
    sgd = build_optimizer(p, TrainConfig(lr=0.3, momentum=0.9, weight_decay=1e-4))
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["momentum"] == 0.9
    adam = build_optimizer(p, TrainConfig(optimizer="adam", lr=1e-3, betas=(0.5, 0.9)))
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[0]["betas"] == (0.5, 0.9)
    assert isinstance(build_optimizer(p, TrainConfig(optimizer="adamw")), torch.optim.AdamW)


def test_step_schedule_zaremba_small():
    # "lr 1, halved every epoch after epoch 4" (Zaremba et al. 2014, small config)
    opt, sched = _schedule(lr=1.0, schedule="step", step_size=1, decay_start=5, gamma=0.5)
    lrs = [sched.start_epoch(e) for e in range(1, 9)]
    assert lrs == [1, 1, 1, 1, 0.5, 0.25, 0.125, 0.0625]
    assert opt.param_groups[0]["lr"] == 0.0625


def test_step_schedule_default_start_is_steplr():
    _, sched = _schedule(lr=1.0, schedule="step", step_size=2, gamma=0.1)
    assert [sched.start_epoch(e) for e in range(1, 7)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01]
    )


def test_cosine_schedule():
    _, sched = _schedule(lr=1.0, schedule="cosine", epochs=4, min_lr=0.1)
    lrs = [sched.start_epoch(e) for e in range(1, 5)]
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(4)]
    assert lrs == pytest.approx(expected) and lrs[0] == 1.0


def test_plateau_divides_after_patience_and_state_round_trips():
    opt, sched = _schedule(lr=20.0, schedule="plateau", gamma=0.25, patience=1)
    lrs = []
    for epoch, valid in enumerate([5.0, 4.0, 4.5, 4.2, 3.0, 3.1], start=1):
        lrs.append(sched.start_epoch(epoch))
        sched.end_epoch(valid)
    # 4.5 and 4.2 do not improve on 4.0: the second of them (patience 1) divides by 4
    assert lrs == [20, 20, 20, 20, 5, 5]
    _, other = _schedule(lr=20.0, schedule="plateau", gamma=0.25, patience=1)
    other.load_state_dict(sched.state_dict())
    other.end_epoch(3.2)
    assert other.start_epoch(7) == 1.25


def test_min_lr_floor():
    _, sched = _schedule(lr=1.0, schedule="step", gamma=0.1, min_lr=0.05)
    assert [sched.start_epoch(e) for e in (1, 2, 3)] == [1.0, 0.1, 0.05]
