"""LockedDropout (one mask per sequence) and EmbeddingDropout (whole words)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnlab.nn.dropout import EmbeddingDropout, LockedDropout


def test_locked_dropout_reuses_one_mask_at_every_step():
    drop = LockedDropout(0.5).train()
    out = drop(torch.ones(7, 4, 16))  # (T, B, H)
    assert torch.equal(out, out[:1].expand_as(out))  # same mask at every step t
    assert set(out.unique().tolist()) <= {0.0, 2.0}  # kept entries scaled by 1 / (1 - p)
    assert 0 < (out[0] == 0).float().mean() < 1


def test_locked_dropout_batch_first_masks_over_dim_1():
    out = LockedDropout(0.3, batch_first=True).train()(torch.ones(4, 9, 8))  # (B, T, H)
    assert torch.equal(out, out[:, :1].expand_as(out))


def test_locked_dropout_keeps_the_expectation():
    torch.manual_seed(0)
    out = LockedDropout(0.4).train()(torch.ones(2, 500, 200))
    assert out.mean().item() == pytest.approx(1.0, abs=0.02)


def test_locked_dropout_is_identity_in_eval_and_at_p0():
    x = torch.randn(5, 3, 6)
    assert torch.equal(LockedDropout(0.5).eval()(x), x)
    assert torch.equal(LockedDropout(0.0).train()(x), x)


def test_dropout_rejects_bad_p_and_shapes():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        LockedDropout(1.0)
    with pytest.raises(ValueError, match="3-d input"):
        LockedDropout(0.5).train()(torch.ones(3, 4))


def test_embedding_dropout_drops_every_occurrence_of_a_word_together():
    torch.manual_seed(0)
    emb = nn.Embedding(50, 8)
    drop = EmbeddingDropout(emb, 0.5).train()
    tokens = torch.arange(50).repeat(6, 1)  # (6, 50): every word 6 times
    out = drop(tokens)  # (6, 50, 8)
    zero = (out == 0).all(dim=-1)  # (6, 50): dropped occurrences
    assert torch.equal(zero, zero[:1].expand_as(zero))  # a word is dropped everywhere or nowhere
    assert 0 < zero[0].float().mean() < 1
    kept = ~zero[0]
    torch.testing.assert_close(out[0, kept], 2.0 * emb.weight[kept])  # scaled by 1 / (1 - p)


def test_embedding_dropout_eval_equals_the_embedding_and_grads_flow():
    emb = nn.Embedding(10, 4, padding_idx=0)
    drop = EmbeddingDropout(emb, 0.3)
    tokens = torch.tensor([[1, 2, 0]])
    torch.testing.assert_close(drop.eval()(tokens), emb(tokens))
    drop.train()(tokens).sum().backward()
    assert emb.weight.grad is not None
