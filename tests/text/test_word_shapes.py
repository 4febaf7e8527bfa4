"""Unknown-word signatures and casing classes: each part of a signature, and the classes."""

from __future__ import annotations

import doctest

import pytest

from rnnlab.text import word_shapes
from rnnlab.text.word_shapes import SHAPES, is_signature, unknown_signature, word_shape


def test_docstring_examples():
    result = doctest.testmod(word_shapes)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("word, signature", [
    ("dog", "<UNK>"),                       # lower case, no known suffix
    ("Dog", "<UNK-Cap>"),
    ("DOGS", "<UNK-CAPS-s>"),               # the suffix applies to capitals too
    ("iPods", "<UNK-mix-s>"),
    ("running", "<UNK-ing>"),
    ("happiness", "<UNK-ness>"),            # longest suffix wins over "-s"
    ("parties", "<UNK-ies>"),
    ("nation", "<UNK-tion>"),
    ("is", "<UNK>"),                        # a suffix needs two characters before it
    ("1999", "<UNK-num>"),
    ("3.5", "<UNK-num-dot>"),
    ("A4s", "<UNK-Cap-num>"),               # digits: no suffix
    ("well-known", "<UNK-dash>"),
    ("e-mails", "<UNK-dash-s>"),
    ("john@example.com", "<UNK-dot-at>"),   # "-com" is no suffix
    ("http://x.org", "<UNK-dot-url>"),
    ("...", "<UNK-sym-dot>"),
    ("!", "<UNK-sym>"),
])  # fmt: skip
def test_signature_parts(word, signature):
    got = unknown_signature(word)
    assert got == signature
    assert is_signature(got) == (got != "<UNK>")


def test_signatures_ignore_the_word_beyond_its_spelling_classes():
    assert unknown_signature("Blorfing") == unknown_signature("Zuxxing") == "<UNK-Cap-ing>"
    assert unknown_signature("walked") != unknown_signature("Walked")


@pytest.mark.parametrize("word, shape", [
    ("dog", "lower"), ("Dog", "Title"), ("I", "Title"), ("DOG", "UPPER"), ("iPhone", "mixed"),
    ("McDonald", "mixed"), ("42", "number"), ("3,000.5", "number"), ("A4", "alnum"),
    ("?", "other"), ("--", "other"), ("don't", "lower"), ("Élan", "Title"),
])  # fmt: skip
def test_word_shape_classes(word, shape):
    assert SHAPES[word_shape(word)] == shape


@pytest.mark.parametrize("bad", ["", None, 3])
def test_bad_words_are_clear_errors(bad):
    for fn in (unknown_signature, word_shape):
        with pytest.raises(ValueError, match="expected a non-empty word"):
            fn(bad)
