"""Seed fidelity: the course notes' code runs unchanged against rnnlab.

The notes build a vocabulary with ``v = Vocabulary(); v.build_vocab(texts)`` and use the names
``word2idx``, ``idx2word``, ``vocab_size``, ``WordEmbedding(vocab_size, embed_dim,
padding_idx)``, ``SimpleRNN``, ``BiRNN``, ``SimpleLSTM(forget_bias)``, ``LSTMClassifier`` and
``generate_first_token_copy_data``. The block below is written the way the notes write it.
"""

from __future__ import annotations

import torch

from rnnlab import (
    BiRNN,
    LSTMClassifier,
    SimpleLSTM,
    SimpleRNN,
    Vocabulary,
    WordEmbedding,
    build_vocab,
    generate_first_token_copy_data,
)


def test_the_notes_usage_runs_unchanged():
    texts = ["the cat sat on the mat", "the dog sat"]
    v = Vocabulary()
    v.build_vocab(texts)
    assert v.word2idx["<PAD>"] == 0 and v.word2idx["<UNK>"] == 1
    assert v.idx2word[v.word2idx["the"]] == "the"
    assert v.vocab_size == len(v.idx2word) == 2 + 6
    ids = torch.tensor([[v.word2idx[w] for w in "the cat sat".split()]])  # (1, 3)

    embedding = WordEmbedding(v.vocab_size, 8, padding_idx=0)
    x = embedding(ids)  # (1, 3, 8)
    out, h = SimpleRNN(8, 16)(x)
    assert out.shape == (1, 3, 16) and h.shape == (1, 16)
    out, (h_f, h_b) = BiRNN(8, 16)(x)
    assert out.shape == (1, 3, 32)
    out, (h, c) = SimpleLSTM(8, 16, forget_bias=1.0)(x)
    assert c.shape == (1, 16)

    data, labels = generate_first_token_copy_data(64, 20, 5)
    assert data.shape == (64, 20) and torch.equal(labels, data[:, 0])
    model = LSTMClassifier(vocab_size=5, hidden_size=128, forget_bias=1.0)
    assert model(data).shape == (64, 5)


def test_the_method_and_the_function_give_the_same_vocabulary():
    texts = ["b a b", "c a b", "d"]
    v = Vocabulary()
    assert v.build_vocab(texts) is v
    assert v == build_vocab(texts)  # same order: specials, by frequency, ties first seen
    assert v.idx2word == ["<PAD>", "<UNK>", "b", "a", "c", "d"]
    v.build_vocab(["e e b"])  # more texts: new tokens appended, old ids kept
    assert v.idx2word[-1] == "e" and v.word2idx["b"] == 2
    assert Vocabulary().build_vocab(texts, min_freq=2).idx2word == ["<PAD>", "<UNK>", "b", "a"]
