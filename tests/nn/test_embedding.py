"""WordEmbedding: lookup values, padding row kept at zero, init, torch.nn.Embedding parity."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnlab.nn.embedding import WordEmbedding


def test_forward_shape_and_values():
    emb = WordEmbedding(10, 4)
    ids = torch.tensor([[2, 3, 0], [9, 9, 1]])  # (B, T) = (2, 3)
    out = emb(ids)
    assert out.shape == (2, 3, 4)
    assert torch.equal(out[1, 0], emb.weight[9]) and torch.equal(out[0, 2], torch.zeros(4))
    assert emb(torch.tensor([5], dtype=torch.int32)).shape == (1, 4)


def test_padding_row_zero_at_init_and_after_training_steps():
    for init in ("normal", "xavier"):
        for optimizer_cls, kwargs in [
            (torch.optim.SGD, {"lr": 0.5, "momentum": 0.9, "weight_decay": 0.1}),
            (torch.optim.Adam, {"lr": 0.1}),
            (torch.optim.AdamW, {"lr": 0.1, "weight_decay": 0.1}),
        ]:
            emb = WordEmbedding(6, 3, init=init)
            assert torch.equal(emb.weight[0], torch.zeros(3))
            opt = optimizer_cls(emb.parameters(), **kwargs)
            before = emb.weight.detach().clone()
            for _ in range(3):
                opt.zero_grad()
                emb(torch.tensor([[0, 1, 2], [0, 0, 3]])).pow(2).sum().backward()
                assert torch.equal(emb.weight.grad[0], torch.zeros(3))
                opt.step()
            assert torch.equal(emb.weight[0], torch.zeros(3))
            assert not torch.equal(emb.weight[1:4], before[1:4])  # the other rows did learn


def test_other_padding_idx_and_none():
    emb = WordEmbedding(5, 2, padding_idx=-1)
    assert emb.padding_idx == 4 and torch.equal(emb.weight[4], torch.zeros(2))
    emb(torch.tensor([4, 1])).sum().backward()
    assert torch.equal(emb.weight.grad[4], torch.zeros(2)) and emb.weight.grad[1].abs().sum() > 0
    free = WordEmbedding(5, 2, padding_idx=None)
    assert free.weight[0].abs().sum() > 0


def test_init_statistics():
    torch.manual_seed(1)
    normal = WordEmbedding(2000, 50, std=0.1).weight.detach()[1:]
    assert abs(normal.std().item() - 0.1) < 0.003 and abs(normal.mean().item()) < 0.002
    xavier = WordEmbedding(2000, 50, init="xavier").weight.detach()[1:]
    bound = (6 / (2000 + 50)) ** 0.5
    assert xavier.abs().max().item() <= bound and xavier.abs().max().item() > 0.95 * bound


def test_loads_from_and_into_torch_embedding():
    ours = WordEmbedding(7, 3)
    theirs = nn.Embedding(7, 3, padding_idx=0)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    theirs.load_state_dict(ours.state_dict())
    ids = torch.tensor([[1, 0, 6], [3, 3, 2]])
    assert torch.equal(theirs(ids), ours(ids))
    back = WordEmbedding(7, 3)
    back.load_state_dict(nn.Embedding(7, 3, padding_idx=0).state_dict())
    torch_emb = nn.Embedding(7, 3, padding_idx=0)
    torch_emb.load_state_dict(back.state_dict())
    assert torch.equal(back(ids), torch_emb(ids))
    pre = WordEmbedding.from_pretrained(theirs.weight.detach(), freeze=True)
    assert torch.equal(pre(ids), theirs(ids)) and not pre.weight.requires_grad


def test_errors_name_the_problem():
    emb = WordEmbedding(10, 4)
    with pytest.raises(
        IndexError, match="token id 10 is out of range for an embedding of vocab_size 10"
    ):
        emb(torch.tensor([[1, 10]]))
    with pytest.raises(IndexError, match="token id -2 is out of range"):
        emb(torch.tensor([-2]))
    with pytest.raises(TypeError, match="expected integer ids .* got torch.float32"):
        emb(torch.tensor([1.0]))
    with pytest.raises(TypeError, match="expected a tensor of token ids, got list"):
        emb([1, 2])
    with pytest.raises(ValueError, match="init must be one of .* got 'uniform'"):
        WordEmbedding(10, 4, init="uniform")
    with pytest.raises(ValueError, match=r"padding_idx must be in \[-10, 10\), got 10"):
        WordEmbedding(10, 4, padding_idx=10)
    with pytest.raises(ValueError, match="std must be a finite number > 0, got -0.1"):
        WordEmbedding(10, 4, std=-0.1)
    with pytest.raises(ValueError, match="embed_dim must be a positive int, got 0"):
        WordEmbedding(10, 0)
    assert emb(torch.zeros(0, 3, dtype=torch.long)).shape == (0, 3, 4)
