"""Tokenizers: the documented splits, marker handling, config round trip, bad input."""

from __future__ import annotations

import pytest

from rnnlab.text.tokenize import (
    CharTokenizer,
    WordTokenizer,
    simple_tokenize,
    tokenizer_from_dict,
)


def test_simple_tokenize_issue_example():
    assert simple_tokenize("Hello, World!") == ["hello", ",", "world", "!"]


def test_simple_tokenize_each_punctuation_mark_is_a_token():
    assert simple_tokenize("a.b!c?d;e,f") == list("a.b!c?d;e,f")
    assert simple_tokenize("wait...  what?!") == ["wait", ".", ".", ".", "what", "?", "!"]


def test_simple_tokenize_splits_on_any_whitespace_and_keeps_other_symbols():
    assert simple_tokenize("  Don't\tstop:\nNOW  ") == ["don't", "stop:", "now"]
    assert simple_tokenize("") == []
    assert simple_tokenize(" \n\t") == []


def test_word_tokenizer_options():
    assert WordTokenizer(lowercase=False)("Hello, World!") == ["Hello", ",", "World", "!"]
    assert WordTokenizer(punctuation=":")("a:b, c") == ["a", ":", "b,", "c"]
    assert WordTokenizer.whitespace()("The  <unk> @-@ N .") == ["The", "<unk>", "@-@", "N", "."]


def test_word_tokenizer_keeps_markers_intact():
    tok = WordTokenizer(punctuation=".,<>")
    assert tok("Go <EOS>. <s.1>,x") == ["go", "<EOS>", ".", "<s.1>", ",", "x"]
    assert WordTokenizer()("end<eos>start") == ["end", "<eos>", "start"]
    # without marker handling, lowercasing and punctuation reach inside
    assert WordTokenizer(keep_markers=False, punctuation=".")("<S.1>") == ["<s", ".", "1>"]


def test_char_tokenizer():
    assert CharTokenizer()("Ab c") == ["A", "b", " ", "c"]
    assert CharTokenizer(lowercase=True)("Ab") == ["a", "b"]
    assert CharTokenizer().join(["a", "b", " ", "c"]) == "ab c"


def test_tokenizer_config_round_trip():
    for tok in [WordTokenizer(), WordTokenizer(False, "?", False), CharTokenizer(True)]:
        assert tokenizer_from_dict(tok.to_dict()) == tok


@pytest.mark.parametrize(
    "config, message",
    [
        ({"lowercase": True}, "'type'"),
        ({"type": "bpe"}, "unknown tokenizer type 'bpe'"),
        ({"type": "word", "casefold": True}, "bad options for tokenizer type 'word'"),
        ("word", "'type'"),
    ],
)
def test_tokenizer_from_dict_errors(config, message):
    with pytest.raises(ValueError, match=message):
        tokenizer_from_dict(config)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(TypeError, match="expected text as str, got bytes"):
        simple_tokenize(b"hello")
    with pytest.raises(TypeError, match="got NoneType"):
        CharTokenizer()(None)
    with pytest.raises(ValueError, match="must not contain whitespace"):
        WordTokenizer(punctuation=". ")
