"""Bucketed padded batches: every example once, order owned by (seed, epoch), padding measured."""

from __future__ import annotations

import pytest
import torch

from rnnlab.text.sentence_batching import BucketedBatches


def _batches(n=103, **kw):
    lengths = [(i * 7) % 13 + 1 for i in range(n)]
    return BucketedBatches(
        list(range(n)), length=lambda i: lengths[i], collate=list, batch_size=8, **kw
    ), lengths


def test_every_example_exactly_once_and_len():
    data, _ = _batches(shuffle=True, seed=3, pool_batches=4)
    seen = [i for batch in data for i in batch]
    assert sorted(seen) == list(range(103))
    assert len(data) == len(list(data)) == 13  # pools of 32, 32, 32, 7 -> 4 + 4 + 4 + 1 batches


def test_order_depends_on_seed_and_epoch_only_not_on_the_global_rng():
    a, _ = _batches(shuffle=True, seed=3)
    b, _ = _batches(shuffle=True, seed=3)
    a.set_epoch(2)
    torch.manual_seed(123)
    torch.rand(5)
    b.set_epoch(2)
    assert list(a) == list(b)
    before = torch.get_rng_state()
    b.set_epoch(3)
    assert torch.equal(before, torch.get_rng_state())  # the global stream is untouched
    assert list(b) != list(a)
    a.set_epoch(3)
    assert list(a) == list(b)
    assert list(a) == list(a)  # re-iterable: same epoch, same order


def test_eval_order_is_length_sorted_and_wastes_least_padding():
    data, lengths = _batches(shuffle=False)
    flat = [lengths[i] for batch in data for i in batch]
    assert flat == sorted(flat)
    shuffled, _ = _batches(shuffle=True, pool_batches=1)
    assert 0.0 <= data.padding_fraction < shuffled.padding_fraction


def test_padding_fraction_counts_padded_positions():
    data = BucketedBatches([3, 1, 2, 2], length=int, collate=list, batch_size=2)
    # sorted: [1, 2] (pad 1 of 4), [2, 3] (pad 1 of 6) -> 2 / 10
    assert data.padding_fraction == pytest.approx(0.2)


def test_empty_example_and_bad_batch_size_are_errors():
    with pytest.raises(ValueError, match="example 1 is empty"):
        BucketedBatches([[1], []], length=len, collate=list, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        BucketedBatches([[1]], length=len, collate=list, batch_size=0)


def test_shards_split_every_batch_and_step_together():
    from rnnlab.text.sentence_batching import BucketedBatches

    lengths = [1 + (i * 7) % 13 for i in range(103)]
    data = BucketedBatches(
        list(range(103)), length=lambda i: lengths[i], collate=list, batch_size=8, shuffle=True
    )
    shards = [data.shard(r, 3) for r in range(3)]
    for epoch in (1, 2):
        data.set_epoch(epoch)
        for s in shards:
            s.set_epoch(epoch)
        whole = [b for b in data if len(b) >= 3]
        parts = [list(s) for s in shards]
        assert all(len(p) == len(whole) for p in parts)  # every rank takes as many steps
        for k, batch in enumerate(whole):
            assert sorted(parts[0][k] + parts[1][k] + parts[2][k]) == sorted(batch)
            assert max(len(p[k]) for p in parts) - min(len(p[k]) for p in parts) <= 1
