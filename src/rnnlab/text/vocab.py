"""Vocabulary: a fixed, ordered mapping between tokens and integer ids.

Order (deterministic, so the same corpus always gives the same ids):

1. specials: ``<PAD>`` = 0, ``<UNK>`` = 1, then ``<BOS>`` and ``<EOS>`` if asked for;
2. corpus tokens by frequency, most frequent first; ties keep first occurrence
   (for ``from_counts``: the counter's insertion order).

``min_freq`` drops tokens seen fewer times; ``max_size`` caps the number of corpus
tokens (specials are not counted). A corpus token spelled like a special is the
special. Corpus markers such as PTB's ``<unk>`` and ``<eos>`` are ordinary tokens.

    >>> v = build_vocab(["the cat sat", "the dog"])
    >>> v.idx2word
    ['<PAD>', '<UNK>', 'the', 'cat', 'sat', 'dog']
    >>> v.encode("The bird sat")
    [2, 1, 4]
    >>> v.decode([2, 1, 4], join=True)
    'the <UNK> sat'

A vocabulary remembers its tokenizer (used when ``encode`` gets a string), and
``save``/``load`` write and read it as JSON with an exact round trip.
"""

from __future__ import annotations

import json
import numbers
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from torch import Tensor

from rnnlab.text.padding import pad_ids
from rnnlab.text.tokenize import Tokenizer, WordTokenizer, tokenizer_from_dict

PAD, UNK, BOS, EOS = "<PAD>", "<UNK>", "<BOS>", "<EOS>"
_SPECIALS = frozenset({PAD, UNK, BOS, EOS})
FORMAT = "rnnlab-vocabulary"
VERSION = 1
_KEYS = frozenset({"bos", "eos", "tokenizer", "tokens"})


class Vocabulary:
    """Token <-> id mapping with ``<PAD>`` = 0 and ``<UNK>`` = 1.

    Arguments:
        tokens: corpus tokens in id order (after the specials); repeats and the
            special spellings are skipped (an unrequested ``<BOS>`` then maps to ``<UNK>``).
        bos, eos: add ``<BOS>`` / ``<EOS>`` right after ``<UNK>``.
        tokenizer: used by ``encode`` for strings; default ``WordTokenizer()``.
    """

    def __init__(
        self,
        tokens: Iterable[str] | None = None,
        *,
        bos: bool = False,
        eos: bool = False,
        tokenizer: Tokenizer | None = None,
    ):
        if isinstance(tokens, str):  # would silently become one token per character
            raise TypeError(f"expected tokens as a list of str, got one str {tokens[:20]!r}")
        self.tokenizer = WordTokenizer() if tokenizer is None else tokenizer
        self.bos, self.eos = bool(bos), bool(eos)
        self.idx2word: list[str] = []
        self.word2idx: dict[str, int] = {}
        for token in [PAD, UNK] + [BOS] * self.bos + [EOS] * self.eos:
            self._add(token)
        for token in tokens or []:
            if token not in _SPECIALS:
                self._add(token)

    def _add(self, token: str) -> None:
        if not isinstance(token, str) or not token:
            raise ValueError(f"tokens must be non-empty strings, got {token!r}")
        if token not in self.word2idx:
            self.word2idx[token] = len(self.idx2word)
            self.idx2word.append(token)

    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int],
        min_freq: int = 1,
        max_size: int | None = None,
        *,
        bos: bool = False,
        eos: bool = False,
        tokenizer: Tokenizer | None = None,
    ) -> Vocabulary:
        """Build from token counts: by count descending, ties in the mapping's order."""
        kept = _by_frequency(counts, min_freq, max_size)
        return cls(kept, bos=bos, eos=eos, tokenizer=tokenizer)

    def build_vocab(
        self, texts: Iterable[str | Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> Vocabulary:
        """Add the tokens of ``texts`` in place, as the course notes use it::

            v = Vocabulary(); v.build_vocab(texts)

        Same order and semantics as the module-level ``build_vocab(texts)``: strings are
        tokenized with this vocabulary's tokenizer, tokens are added by frequency (ties by
        first occurrence) after the ones already present, which keep their ids. Returns self.
        """
        counts = _count(texts, self.tokenizer)
        for token in _by_frequency(counts, min_freq, max_size):
            self._add(token)
        return self

    # ---- lookups ---------------------------------------------------------------

    pad_index = 0
    unk_index = 1

    @property
    def bos_index(self) -> int | None:
        return self.word2idx[BOS] if self.bos else None

    @property
    def eos_index(self) -> int | None:
        return self.word2idx[EOS] if self.eos else None

    @property
    def vocab_size(self) -> int:
        return len(self.idx2word)

    def __len__(self) -> int:
        return len(self.idx2word)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and token in self.word2idx

    def __getitem__(self, token: str) -> int:
        """The id of ``token``; unknown tokens map to ``unk_index``."""
        if not isinstance(token, str):
            raise TypeError(f"expected a token (str), got {type(token).__name__}")
        return self.word2idx.get(token, self.unk_index)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        mine = (self.idx2word, self.bos, self.eos, self.tokenizer)
        return mine == (other.idx2word, other.bos, other.eos, other.tokenizer)

    __hash__ = None  # equality by content, so not hashable

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)}, bos={self.bos}, eos={self.eos})"

    # ---- encoding --------------------------------------------------------------

    def encode(
        self, text: str | Sequence[str], add_bos: bool = False, add_eos: bool = False
    ) -> list[int]:
        """Text (tokenized with ``self.tokenizer``) or a token list -> ids (unknown -> 1)."""
        if isinstance(text, str):
            tokens = self.tokenizer(text)
        elif isinstance(text, (list, tuple)):
            tokens = text
        else:
            raise TypeError(f"expected str or list of tokens, got {type(text).__name__}")
        get, unk = self.word2idx.get, self.unk_index
        ids = []
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"expected tokens as str, got {type(token).__name__} {token!r}")
            ids.append(get(token, unk))
        if add_bos:
            ids.insert(0, self._special_index(BOS, self.bos, "bos"))
        if add_eos:
            ids.append(self._special_index(EOS, self.eos, "eos"))
        return ids

    def _special_index(self, token: str, present: bool, flag: str) -> int:
        if not present:
            raise ValueError(f"this vocabulary has no {token}; build it with {flag}=True")
        return self.word2idx[token]

    def encode_batch(
        self,
        texts: Sequence[str | Sequence[str]],
        add_bos: bool = False,
        add_eos: bool = False,
        *,
        allow_empty: bool = False,
    ) -> tuple[Tensor, Tensor]:
        """B texts -> ids LongTensor (B, T) padded with ``pad_index``, lengths (B,).

        A text with no tokens (``""``, only spaces) would be a row of length 0, which no
        recurrent layer accepts and which a pooled classifier would average over nothing:
        it is a ``ValueError`` naming its index, unless ``allow_empty=True`` (or ``add_bos``
        / ``add_eos`` give every row a token).
        """
        if isinstance(texts, str):
            raise TypeError("expected a sequence of texts, got one str (wrap it in a list)")
        seqs = [self.encode(t, add_bos=add_bos, add_eos=add_eos) for t in texts]
        empty = [b for b, ids in enumerate(seqs) if not ids]
        if empty and not allow_empty:
            shown = ", ".join(map(str, empty[:10])) + (", ..." if len(empty) > 10 else "")
            raise ValueError(
                f"texts at index {shown} have no tokens (of {len(seqs)} texts): a row of length "
                "0; drop them, or pass allow_empty=True to keep them as empty rows"
            )
        return pad_ids(seqs, pad_index=self.pad_index)

    def decode(
        self, ids: Iterable[int] | Tensor, join: bool = False, skip_special: bool = False
    ) -> list[str] | str:
        """Ids (a list or a 1-D tensor) -> tokens, or text if ``join`` (tokenizer's join).

        ``skip_special`` drops ``<PAD>``, ``<BOS>`` and ``<EOS>`` (``<UNK>`` stays).
        """
        if isinstance(ids, Tensor):
            if ids.dim() != 1 or ids.dtype.is_floating_point or ids.dtype.is_complex:
                raise TypeError(
                    f"expected a 1-D integer tensor of ids, got shape {tuple(ids.shape)} "
                    f"dtype {ids.dtype}"
                )
            ids = ids.tolist()
        size = len(self.idx2word)
        skip = {self.pad_index, self.bos_index, self.eos_index} if skip_special else set()
        tokens = []
        for i in ids:
            if not isinstance(i, numbers.Integral) or isinstance(i, bool):
                raise TypeError(f"expected int ids, got {type(i).__name__} {i!r}")
            i = int(i)
            if not 0 <= i < size:
                raise IndexError(f"id {i} is out of range for a vocabulary of size {size}")
            if i not in skip:
                tokens.append(self.idx2word[i])
        return self.tokenizer.join(tokens) if join else tokens

    # ---- serialisation ---------------------------------------------------------

    def to_dict(self) -> dict:
        """JSON-able content: format tag, version, flags, tokenizer config, tokens in id order."""
        if not hasattr(self.tokenizer, "to_dict"):
            raise TypeError(
                f"cannot serialise tokenizer {self.tokenizer!r}: use WordTokenizer or CharTokenizer"
            )
        return {
            "format": FORMAT,
            "version": VERSION,
            "bos": self.bos,
            "eos": self.eos,
            "tokenizer": self.tokenizer.to_dict(),
            "tokens": list(self.idx2word),
        }

    @classmethod
    def from_dict(cls, data: object) -> Vocabulary:
        """Inverse of ``to_dict``; says what is wrong with malformed input (ValueError)."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise ValueError(f"expected format {FORMAT!r}, got {data.get('format')!r}")
        version = data.get("version")
        if type(version) is not int or version != VERSION:  # not true, not 1.0
            raise ValueError(f"expected version {VERSION}, got {version!r}")
        missing = _KEYS - set(data)
        if missing:
            raise ValueError(f"missing keys {sorted(missing)}")
        unknown = set(data) - _KEYS - {"format", "version"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)[:5]}; expected {sorted(_KEYS)}")
        bos, eos, tokens = data["bos"], data["eos"], data["tokens"]
        if not isinstance(bos, bool) or not isinstance(eos, bool):
            raise ValueError(f"'bos' and 'eos' must be true/false, got {bos!r}, {eos!r}")
        if not isinstance(tokens, list):
            raise ValueError(f"'tokens' must be a list, got {type(tokens).__name__}")
        for i, token in enumerate(tokens):
            if not isinstance(token, str) or not token:
                raise ValueError(f"token {i} must be a non-empty string, got {token!r}")
        specials = [PAD, UNK] + [BOS] * bos + [EOS] * eos
        if tokens[: len(specials)] != specials:
            raise ValueError(
                f"tokens must start with the specials {specials}, got {tokens[: len(specials)]}"
            )
        if len(set(tokens)) != len(tokens):
            dupes = sorted(t for t, c in Counter(tokens).items() if c > 1)
            raise ValueError(f"duplicate tokens {dupes[:5]}")
        misplaced = sorted(_SPECIALS.intersection(tokens[len(specials) :]))
        if misplaced:
            raise ValueError(f"special tokens {misplaced} appear outside their reserved positions")
        return cls(tokens, bos=bos, eos=eos, tokenizer=tokenizer_from_dict(data["tokenizer"]))

    def save(self, path: str | os.PathLike) -> None:
        """Write JSON atomically (temporary file in the same folder, then rename)."""
        from rnnlab.files import write_json

        write_json(path, self.to_dict(), indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        """Read a file written by ``save``; errors name the file and the problem."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{path}:{err.lineno}: not a valid vocabulary file (bad JSON: {err.msg})"
            ) from None
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: not a valid vocabulary file (not UTF-8: {err})") from None
        except (ValueError, RecursionError) as err:  # a 5,000-digit number, [[[[...]]]]
            what = "nested too deeply" if isinstance(err, RecursionError) else str(err)
            raise ValueError(f"{path}: not a valid vocabulary file (bad JSON: {what})") from None
        try:
            return cls.from_dict(data)
        except ValueError as err:
            raise ValueError(f"{path}: not a valid vocabulary file: {err}") from None


def _count(texts: Iterable[str | Sequence[str]], tokenizer: Tokenizer) -> Counter[str]:
    """Token counts over texts (strings are tokenized, lists are tokens), in first-seen order."""
    if isinstance(texts, str):
        raise TypeError("expected a list of texts, got one str (wrap it in a list)")
    counts: Counter[str] = Counter()
    for text in texts:
        if isinstance(text, str):
            counts.update(tokenizer(text))
        elif isinstance(text, (list, tuple)):
            counts.update(text)
        else:
            raise TypeError(f"expected texts as str or list of tokens, got {type(text).__name__}")
    return counts


def _by_frequency(counts: Mapping[str, int], min_freq: int, max_size: int | None) -> list[str]:
    """Corpus tokens by count descending, ties in the mapping's order; specials left out."""
    if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
        raise ValueError(f"min_freq must be an int >= 1, got {min_freq!r}")
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0
    ):
        raise ValueError(f"max_size must be None or an int >= 0, got {max_size!r}")
    kept = [t for t, c in counts.items() if c >= min_freq and t not in _SPECIALS]
    kept.sort(key=lambda t: -counts[t])  # stable: ties keep insertion order
    return kept if max_size is None else kept[:max_size]


def build_vocab(
    texts: Iterable[str | Sequence[str]],
    tokenizer: Tokenizer | None = None,
    min_freq: int = 1,
    max_size: int | None = None,
    bos: bool = False,
    eos: bool = False,
) -> Vocabulary:
    """Count tokens over ``texts`` (strings are tokenized, lists are tokens) and build.

    The result keeps ``tokenizer`` (default ``WordTokenizer()``) for later ``encode`` calls.
    """
    if isinstance(texts, str):  # would silently count each character as a text
        raise TypeError(f"expected texts as a list, got one str {texts[:20]!r}")
    tokenizer = WordTokenizer() if tokenizer is None else tokenizer
    counts = _count(texts, tokenizer)
    return Vocabulary.from_counts(
        counts, min_freq=min_freq, max_size=max_size, bos=bos, eos=eos, tokenizer=tokenizer
    )
