"""Tokenizers: text -> list of string tokens, and back.

Two tokenizers, both small frozen dataclasses that are callable, know how to
``join`` tokens back into text and serialise to a JSON-able ``to_dict`` (a
Vocabulary stores its tokenizer's config so that a saved vocabulary encodes text
the same way after loading):

* ``WordTokenizer``: optional lowercasing, a configurable set of punctuation
  characters that become tokens of their own, then a split on whitespace.
  Markers such as ``<unk>`` or ``<eos>`` are kept intact (neither lowercased
  nor split) unless ``keep_markers=False``.
* ``CharTokenizer``: one token per character (optionally lowercased).

``simple_tokenize`` is the default word tokenizer as a function:

    >>> simple_tokenize("Hello, World!")
    ['hello', ',', 'world', '!']
    >>> WordTokenizer(lowercase=False)("Ask <UNK> now?")
    ['Ask', '<UNK>', 'now', '?']
    >>> CharTokenizer()("ab c")
    ['a', 'b', ' ', 'c']

For corpora that are already tokenized (PTB, WikiText, SST-2), use
``WordTokenizer.whitespace()``: no lowercasing, no punctuation splitting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_PUNCTUATION = ".!?;,"

# A marker is "<" + non-space, non-bracket characters + ">", e.g. <unk>, <eos>, <BOS>.
_MARKER = re.compile(r"(<[^\s<>]+>)")


def _check_flags(tokenizer, *names: str) -> None:
    """A flag must be a bool: ``lowercase="no"`` is truthy and would lowercase silently."""
    for name in names:
        value = getattr(tokenizer, name)
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be true or false, got {type(value).__name__} {value!r}")


@dataclass(frozen=True)
class WordTokenizer:
    """Lowercase (optionally), split off punctuation characters, split on whitespace.

    Arguments:
        lowercase: lowercase everything except markers.
        punctuation: characters that always become tokens of their own.
        keep_markers: keep ``<...>`` markers verbatim and as single tokens.
    """

    lowercase: bool = True
    punctuation: str = DEFAULT_PUNCTUATION
    keep_markers: bool = True
    _table: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        _check_flags(self, "lowercase", "keep_markers")
        if not isinstance(self.punctuation, str):
            raise TypeError(
                f"punctuation must be a string of characters, got {type(self.punctuation).__name__}"
            )
        spaces = [c for c in self.punctuation if c.isspace()]
        if spaces:
            raise ValueError(f"punctuation must not contain whitespace, got {spaces!r}")
        table = str.maketrans({c: f" {c} " for c in self.punctuation})
        object.__setattr__(self, "_table", table)

    @classmethod
    def whitespace(cls) -> WordTokenizer:
        """A tokenizer for pre-tokenized text: split on whitespace only, keep case."""
        return cls(lowercase=False, punctuation="")

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"expected text as str, got {type(text).__name__}")
        if not self.keep_markers:
            return self._split(text)
        tokens: list[str] = []
        # re.split with a capturing group alternates: text, marker, text, marker, ...
        for i, piece in enumerate(_MARKER.split(text)):
            if i % 2:
                tokens.append(piece)
            elif piece:
                tokens.extend(self._split(piece))
        return tokens

    def _split(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return text.translate(self._table).split()

    def join(self, tokens: list[str]) -> str:
        """Tokens back to text, separated by single spaces."""
        return " ".join(tokens)

    def to_dict(self) -> dict:
        return {
            "type": "word",
            "lowercase": self.lowercase,
            "punctuation": self.punctuation,
            "keep_markers": self.keep_markers,
        }


@dataclass(frozen=True)
class CharTokenizer:
    """One token per character (Unicode code point), optionally lowercased."""

    lowercase: bool = False

    def __post_init__(self):
        _check_flags(self, "lowercase")

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"expected text as str, got {type(text).__name__}")
        return list(text.lower() if self.lowercase else text)

    def join(self, tokens: list[str]) -> str:
        """Characters back to text, with nothing in between."""
        return "".join(tokens)

    def to_dict(self) -> dict:
        return {"type": "char", "lowercase": self.lowercase}


Tokenizer = WordTokenizer | CharTokenizer

_SIMPLE = WordTokenizer(keep_markers=False)


def simple_tokenize(text: str) -> list[str]:
    """Lowercase; each of ``. ! ? ; ,`` becomes its own token; split on whitespace."""
    return _SIMPLE(text)


def tokenizer_from_dict(config: dict) -> Tokenizer:
    """Rebuild a tokenizer from ``to_dict()`` output; unknown types or keys are errors."""
    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"tokenizer config must be a dict with a 'type' key, got {config!r}")
    kinds: dict[str, Callable] = {"word": WordTokenizer, "char": CharTokenizer}
    options = dict(config)
    kind = options.pop("type")
    if kind == "sentencepiece":  # optional dependency: rnnlab.text.subwords
        from rnnlab.text.subwords import SentencePieceTokenizer

        unknown = set(options) - {"model"}
        if unknown or "model" not in options:
            raise ValueError(
                f"a sentencepiece tokenizer needs exactly 'model', got {sorted(options)}"
            )
        return SentencePieceTokenizer.from_dict_options(options["model"])
    if not isinstance(kind, str) or kind not in kinds:
        raise ValueError(f"unknown tokenizer type {kind!r}; expected one of {sorted(kinds)}")
    try:
        return kinds[kind](**options)
    except TypeError as err:
        raise ValueError(f"bad options for tokenizer type {kind!r}: {err}") from None
