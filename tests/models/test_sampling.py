"""Sampling: filters, banned tokens, prompts with unknown words, determinism."""

from __future__ import annotations

import math

import pytest
import torch

from rnnlab.models import LanguageModel, LMConfig
from rnnlab.models.sampling import banned_ids, detokenize, filter_logits, generate
from rnnlab.text.tokenize import WordTokenizer
from rnnlab.text.vocab import Vocabulary

WORDS = ["the", "cat", "dog", "sat", "<eos>", "<unk>"]


def _setup(favour=None):
    vocab = Vocabulary(WORDS, tokenizer=WordTokenizer.whitespace())
    model = LanguageModel(LMConfig(vocab_size=len(vocab), embed_dim=8, hidden_size=8, num_layers=1))
    if favour is not None:  # make some tokens overwhelmingly likely
        with torch.no_grad():
            model.decoder.bias[favour] = 50.0
    return model, vocab


def test_top_k_keeps_the_k_most_likely():
    logits = torch.tensor([1.0, 3.0, 2.0, 0.0])
    out = filter_logits(logits, top_k=2)
    assert torch.isinf(out[[0, 3]]).all() and torch.isfinite(out[[1, 2]]).all()


def test_top_p_keeps_the_smallest_nucleus():
    probs = torch.tensor([0.05, 0.5, 0.15, 0.3])
    logits = probs.log()
    kept = torch.isfinite(filter_logits(logits, top_p=0.7))
    assert kept.tolist() == [False, True, False, True]  # 0.5 + 0.3 >= 0.7
    assert torch.isfinite(filter_logits(logits, top_p=0.01)).sum() == 1  # the top one stays


def test_temperature_scales_logits():
    logits = torch.tensor([1.0, 2.0])
    torch.testing.assert_close(filter_logits(logits, temperature=0.5), logits * 2)
    with pytest.raises(ValueError, match="temperature"):
        filter_logits(logits, temperature=0.0)


def test_pad_is_never_sampled_and_unk_only_if_asked():
    model, vocab = _setup(favour=[0, 1, vocab_index("<unk>")])
    ids = banned_ids(vocab)
    assert ids == sorted({0, 1, vocab.word2idx["<unk>"]})
    tokens = generate(model, vocab, "the", max_tokens=30, seed=0)
    assert not {"<PAD>", "<UNK>", "<unk>"} & set(tokens)
    tokens = generate(model, vocab, "the", max_tokens=30, seed=0, allow_unk=True)
    assert {"<UNK>", "<unk>"} & set(tokens) and "<PAD>" not in tokens


def vocab_index(word: str) -> int:
    return [None, None, *WORDS].index(word)


def test_unknown_prompt_words_map_to_unk_with_a_warning():
    model, vocab = _setup()
    with pytest.warns(UserWarning, match="'zebra'"):
        tokens = generate(model, vocab, "the zebra", max_tokens=3, seed=0)
    assert len(tokens) == 3


def test_sampling_is_reproducible_and_greedy_is_the_argmax():
    model, vocab = _setup()
    a = generate(model, vocab, "the cat", max_tokens=20, seed=5, top_k=4, top_p=0.9)
    b = generate(model, vocab, "the cat", max_tokens=20, seed=5, top_k=4, top_p=0.9)
    assert a == b
    greedy = generate(model, vocab, "the", max_tokens=1, temperature=0)
    logits, _ = model(torch.tensor([[vocab.word2idx["the"]]]))
    logits[0, 0, banned_ids(vocab)] = -math.inf
    assert greedy == [vocab.idx2word[int(logits[0, 0].argmax())]]


def test_empty_prompt_starts_a_sentence_and_stop_at_ends_it():
    model, vocab = _setup(favour=[vocab_index("<eos>")])
    assert generate(model, vocab, "", max_tokens=10, stop_at="<eos>", seed=0) == ["<eos>"]


def test_vocabulary_that_does_not_fit_the_model_is_an_error():
    model, _ = _setup()
    with pytest.raises(ValueError, match="does not match the model's vocab_size"):
        generate(model, Vocabulary(["a"]), "a")


def test_detokenize_breaks_lines_at_eos():
    _, vocab = _setup()
    assert detokenize(vocab, ["the", "cat", "<eos>", "the"]) == "the cat\nthe"
