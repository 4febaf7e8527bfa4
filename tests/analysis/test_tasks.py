"""Synthetic tasks: labels follow their definitions; same seed, same batch."""

from __future__ import annotations

import pytest
import torch

from rnnlab.analysis.tasks import (
    TASKS,
    adding,
    delayed_recall,
    first_token_copy,
    generator,
    mean_sign,
    parity,
)


def test_first_token_copy_label_is_first_token():
    x, y = first_token_copy(8, 12, 5, generator(0))
    assert x.shape == (8, 12) and y.shape == (8,)
    assert x.min() >= 0 and x.max() < 5
    assert torch.equal(y, x[:, 0])


def test_delayed_recall_label_is_token_delay_steps_before_the_end():
    x, y = delayed_recall(4, 10, 7, delay=3, gen=generator(1))
    assert torch.equal(y, x[:, 6])
    with pytest.raises(ValueError, match="delay must be in"):
        delayed_recall(4, 10, delay=10)


def test_parity_and_mean_sign_labels():
    x, y = parity(16, 9, generator(2))
    assert torch.equal(y, x.sum(1) % 2)
    x, y = mean_sign(16, 50, generator(3))
    assert x.shape == (16, 50, 1)
    assert torch.equal(y, (x.squeeze(2).mean(1) > 0).long())


def test_adding_marks_one_position_in_each_half():
    x, y = adding(32, 20, generator(4))
    values, markers = x[..., 0], x[..., 1]
    assert torch.equal(markers[:, :10].sum(1), torch.ones(32))
    assert torch.equal(markers[:, 10:].sum(1), torch.ones(32))
    torch.testing.assert_close(y, (values * markers).sum(1))


@pytest.mark.parametrize("name", sorted(TASKS))
def test_same_seed_same_batch_and_specs_match(name):
    spec = TASKS[name]
    x1, y1 = spec.sample(6, 11, generator(5))
    x2, y2 = spec.sample(6, 11, generator(5))
    x3, _ = spec.sample(6, 11, generator(6))
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and not torch.equal(x1, x3)
    if spec.input_kind == "tokens":
        assert x1.shape == (6, 11) and x1.max() < spec.input_size
    else:
        assert x1.shape == (6, 11, spec.input_size)
    assert (y1.dtype == torch.long) == bool(spec.num_classes)


def test_bad_sizes_fail_early():
    with pytest.raises(ValueError, match="seq_len must be >= 1, got 0"):
        first_token_copy(2, 0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        parity(0, 3)
