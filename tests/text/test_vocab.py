"""Vocabulary: order, specials, encode/decode, batches, errors, JSON round trip."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from rnnlab.text import CharTokenizer, Vocabulary, WordTokenizer, build_vocab

TEXTS = ["the cat sat on the mat", "the dog sat", "a cat"]


def test_order_specials_then_frequency_then_first_occurrence():
    v = build_vocab(TEXTS)
    # the x3; cat x2, sat x2 (cat seen first); then count-1 words in first-seen order
    assert v.idx2word == ["<PAD>", "<UNK>", "the", "cat", "sat", "on", "mat", "dog", "a"]
    assert v.word2idx == {w: i for i, w in enumerate(v.idx2word)}
    assert (v.pad_index, v.unk_index, v.bos_index, v.eos_index) == (0, 1, None, None)
    assert len(v) == v.vocab_size == 9


def test_bos_eos_follow_unk():
    v = build_vocab(TEXTS, bos=True, eos=True)
    assert v.idx2word[:5] == ["<PAD>", "<UNK>", "<BOS>", "<EOS>", "the"]
    assert (v.bos_index, v.eos_index) == (2, 3)
    assert build_vocab(TEXTS, eos=True).eos_index == 2


def test_min_freq_and_max_size_exclude_specials():
    assert build_vocab(TEXTS, min_freq=2).idx2word[2:] == ["the", "cat", "sat"]
    assert build_vocab(TEXTS, max_size=2, bos=True).idx2word == [
        "<PAD>",
        "<UNK>",
        "<BOS>",
        "the",
        "cat",
    ]
    assert build_vocab(TEXTS, max_size=0).idx2word == ["<PAD>", "<UNK>"]
    with pytest.raises(ValueError, match="min_freq must be an int >= 1, got 0"):
        build_vocab(TEXTS, min_freq=0)
    with pytest.raises(ValueError, match="max_size must be None or an int >= 0, got -1"):
        build_vocab(TEXTS, max_size=-1)


def test_from_counts_ties_keep_mapping_order():
    v = Vocabulary.from_counts({"b": 1, "a": 3, "c": 1, "d": 3})
    assert v.idx2word[2:] == ["a", "d", "b", "c"]
    v = Vocabulary.from_counts(Counter({"x": 5, "<PAD>": 9, "<unk>": 2}))
    assert v.idx2word == ["<PAD>", "<UNK>", "x", "<unk>"]  # <unk> is an ordinary word


def test_build_vocab_accepts_token_lists_and_a_tokenizer():
    v = build_vocab([["The", "<unk>"], ["The"]])
    assert v.idx2word[2:] == ["The", "<unk>"]
    chars = build_vocab(["abba"], tokenizer=CharTokenizer())
    assert chars.idx2word[2:] == ["a", "b"] and chars.encode("bad") == [3, 2, 1]
    with pytest.raises(TypeError, match="expected texts as str or list of tokens, got int"):
        build_vocab([3])


def test_lookup_contains_and_unknown():
    v = build_vocab(TEXTS)
    assert v["cat"] == 3 and v["zebra"] == v.unk_index
    assert "cat" in v and "zebra" not in v and "<PAD>" in v and [1] not in v
    with pytest.raises(TypeError, match="expected a token"):
        v[3]


def test_encode_decode():
    v = build_vocab(TEXTS, bos=True, eos=True)
    ids = v.encode("The cat, unseen!", add_bos=True, add_eos=True)
    assert ids == [2, 4, 5, 1, 1, 1, 3]  # the cat , unseen ! -> "," and "!" are unknown
    assert v.decode(ids) == ["<BOS>", "the", "cat", "<UNK>", "<UNK>", "<UNK>", "<EOS>"]
    assert v.decode(ids, join=True) == "<BOS> the cat <UNK> <UNK> <UNK> <EOS>"
    assert v.decode(ids + [0, 0], skip_special=True) == ["the", "cat", "<UNK>", "<UNK>", "<UNK>"]
    assert v.encode(["the", "The"]) == [4, 1]  # lists are tokens as they are
    assert v.decode(torch.tensor(ids)) == v.decode(ids)


def test_encode_decode_errors():
    v = build_vocab(TEXTS)
    with pytest.raises(IndexError, match="id 9 is out of range for a vocabulary of size 9"):
        v.decode([2, 9])
    with pytest.raises(IndexError, match="id -1 is out of range"):
        v.decode([-1])
    with pytest.raises(TypeError, match="expected int ids, got float"):
        v.decode([1.0])
    with pytest.raises(TypeError, match="1-D integer tensor"):
        v.decode(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="no <BOS>; build it with bos=True"):
        v.encode("the", add_bos=True)
    with pytest.raises(TypeError, match="expected str or list of tokens, got int"):
        v.encode(5)
    with pytest.raises(TypeError, match="expected tokens as str, got int"):
        v.encode(["the", 5])


def test_encode_batch_pads_with_pad_index():
    v = build_vocab(TEXTS, eos=True)
    ids, lengths = v.encode_batch(["the cat sat", "dog", ""], add_eos=True)
    eos = v.eos_index
    assert ids.dtype == torch.long and ids.shape == (3, 4)
    assert ids.tolist() == [[3, 4, 5, eos], [8, eos, 0, 0], [eos, 0, 0, 0]]
    assert lengths.tolist() == [4, 2, 1]


def test_constructor_skips_repeats_and_special_spellings():
    v = Vocabulary(["x", "<UNK>", "x", "<BOS>", "y"])
    assert v.idx2word == ["<PAD>", "<UNK>", "x", "y"] and v["<BOS>"] == v.unk_index
    with pytest.raises(ValueError, match="non-empty strings, got ''"):
        Vocabulary(["ok", ""])


def test_save_load_exact_round_trip(tmp_path):
    tok = WordTokenizer(lowercase=False, punctuation="?")
    v = build_vocab(["Über straße ?", "<unk> x"], tokenizer=tok, bos=True)
    v.save(tmp_path / "vocab.json")
    w = Vocabulary.load(tmp_path / "vocab.json")
    assert w == v and w.idx2word == v.idx2word and w.word2idx == v.word2idx
    assert w.tokenizer == tok and (w.bos, w.eos) == (True, False)
    assert w.encode("Über ?") == v.encode("Über ?")
    assert Vocabulary.from_dict(json.loads(json.dumps(v.to_dict()))) == v
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]  # no temp file left


def test_custom_tokenizer_cannot_be_saved():
    v = Vocabulary(["a"], tokenizer=str.split)
    assert v.encode("a b") == [2, 1]
    with pytest.raises(TypeError, match="cannot serialise tokenizer"):
        v.to_dict()


def _write(tmp_path, data) -> str:
    path = tmp_path / "v.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


GOOD = build_vocab(TEXTS).to_dict()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"format": "other"}, "expected format 'rnnlab-vocabulary', got 'other'"),
        ({"version": 7}, "expected version 1, got 7"),
        ({"tokens": "abc"}, "'tokens' must be a list, got str"),
        ({"tokens": ["<PAD>", "<UNK>", 3]}, "token 2 must be a non-empty string, got 3"),
        ({"tokens": ["<UNK>", "<PAD>", "a"]}, "tokens must start with the specials"),
        ({"tokens": ["<PAD>", "<UNK>", "a", "a"]}, r"duplicate tokens \['a'\]"),
        ({"tokens": ["<PAD>", "<UNK>", "<EOS>"]}, r"special tokens \[.<EOS>.\] appear outside"),
        ({"bos": "yes"}, "'bos' and 'eos' must be true/false"),
        ({"tokenizer": {"type": "bpe"}}, "unknown tokenizer type 'bpe'"),
    ],
)
def test_malformed_vocabulary_file_says_what_is_wrong(tmp_path, change, message):
    path = _write(tmp_path, {**GOOD, **change})
    with pytest.raises(ValueError, match=f"v.json: not a valid vocabulary file: {message}"):
        Vocabulary.load(path)


def test_malformed_json_names_file_and_line(tmp_path):
    path = _write(tmp_path, '{\n "format": "rnnlab-vocabulary",\n oops\n}')
    with pytest.raises(ValueError, match=r"v.json:3: not a valid vocabulary file \(bad JSON"):
        Vocabulary.load(path)
    path = _write(tmp_path, "[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object, got list"):
        Vocabulary.load(path)
    data = dict(GOOD)
    del data["tokens"]
    with pytest.raises(ValueError, match=r"missing keys \['tokens'\]"):
        Vocabulary.load(_write(tmp_path, data))
