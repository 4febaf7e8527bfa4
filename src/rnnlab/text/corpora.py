"""Streaming corpus readers: every file format rnnlab reads, in one place.

All readers are generators (one line or one sentence at a time), read ``.gz`` files
transparently, decode strict UTF-8, and raise ``CorpusFormatError`` naming
``file:line`` and what was expected when the input is malformed.

==================  ========================================  ====================================
reader              format                                    yields
==================  ========================================  ====================================
read_lines          plain text, one item a line               the line, without its newline
read_token_lines    PTB / WikiText: space-separated tokens    tokens of the line + ``<eos>``
read_tsv            tab-separated with a header line          dict header -> field
read_labeled_..     SST-2: ``sentence \\t label``             (sentence, int label or None)
read_conllu         CoNLL-U, 10 tab-separated columns         (forms, UPOS/XPOS tags) per sentence
read_parallel       two line-aligned files (Multi30k .gz)     (source line, target line)
==================  ========================================  ====================================
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import NamedTuple

PathLike = str | os.PathLike

_GZIP_MAGIC = b"\x1f\x8b"
_INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only: int() also takes "1_0", " 1", "٣"
SST2_LABELS = (0, 1)


class CorpusFormatError(ValueError):
    """Malformed corpus input; ``str(err)`` starts with ``file:line:``."""

    def __init__(self, path: PathLike, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line = Path(path), line


class TaggedSentence(NamedTuple):
    """One CoNLL-U sentence: word forms and their UPOS tags (same length)."""

    words: list[str]
    tags: list[str]


def read_lines(path: PathLike) -> Iterator[str]:
    """Yield each line of a text file (``.gz`` read transparently) without ``\\n``/``\\r\\n``."""
    for _, line in _numbered_lines(path):
        yield line


def _numbered_lines(path: PathLike) -> Iterator[tuple[int, str]]:
    """(1-based line number, decoded line without its line ending).

    Raises:
        CorpusFormatError: a ``.gz`` file that is not gzip data or is cut short, or a line
            that is not UTF-8 (naming the byte and, for gzip bytes in a plain file, why).
    """
    path = Path(path)
    gz = path.suffix == ".gz"
    opener = gzip.open if gz else open
    number = 0
    with opener(path, "rb") as f:
        raw_lines = iter(f)
        while True:
            try:
                raw = next(raw_lines)
            except StopIteration:
                return
            except (gzip.BadGzipFile, EOFError, zlib.error) as err:
                message = f"not a valid gzip file (a .gz name must hold gzip data): {err}"
                raise CorpusFormatError(path, number + 1, message) from None
            number += 1
            yield number, _decode(raw, path, number, gz)


def _decode(raw: bytes, path: Path, number: int, gz: bool) -> str:
    """One raw line -> text without its ``\\n`` / ``\\r\\n``; strict UTF-8."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        hint = ""
        if number == 1 and raw.startswith(_GZIP_MAGIC) and not gz:
            hint = "; the file is gzip-compressed: name it *.gz"
        raise CorpusFormatError(
            path,
            number,
            f"invalid UTF-8 ({err.reason} at byte {err.start + 1} of the line: "
            f"{raw[err.start : err.start + 4]!r}); expected UTF-8 text{hint}",
        ) from None
    if line.endswith("\n"):
        line = line[:-1]
        if line.endswith("\r"):
            line = line[:-1]
    return line


def read_token_lines(path: PathLike, eos: str | None = "<eos>") -> Iterator[list[str]]:
    """Language-model token files (PTB, WikiText): split each line on whitespace, append ``eos``.

    Every line gets its ``eos``, blank lines included (WikiText's blank lines become
    ``["<eos>"]``), as in pytorch/examples and AWD-LSTM; tokens such as ``@-@``, headings
    like ``= Title =`` and the corpus's own ``<unk>`` are kept as they are.
    """
    for line in read_lines(path):
        tokens = line.split()
        if eos is not None:
            tokens.append(eos)
        yield tokens


def read_tsv(path: PathLike) -> Iterator[dict[str, str]]:
    """Rows of a tab-separated file whose first line is the header; no quoting."""
    for _, row in read_tsv_numbered(path):
        yield row


def read_tsv_numbered(
    path: PathLike, required: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """(1-based line number, row dict); the header must hold the ``required`` columns."""
    lines = _numbered_lines(path)
    first = next(lines, None)
    if first is None:
        raise CorpusFormatError(path, 1, "empty file; expected a header line")
    header = first[1].split("\t")
    if any(column not in header for column in required):
        raise CorpusFormatError(path, 1, f"expected header columns {list(required)}, got {header}")
    for number, line in lines:
        fields = line.split("\t")
        if len(fields) != len(header):
            raise CorpusFormatError(
                path,
                number,
                f"expected {len(header)} tab-separated fields {header}, got {len(fields)}",
            )
        yield number, dict(zip(header, fields))


def read_labeled_sentences(
    path: PathLike,
    text_column: str = "sentence",
    label_column: str | None = "label",
    labels: Collection[int] | None = SST2_LABELS,
) -> Iterator[tuple[str, int | None]]:
    """(sentence, label) from a TSV such as SST-2's; the sentence is stripped of outer spaces.

    SST-2's ``train.tsv``/``dev.tsv`` rows are ``sentence \\t label`` (a space before the
    tab); its ``test.tsv`` has no labels: pass ``label_column=None`` to get ``label=None``.
    A label must be an integer written in ASCII digits and one of ``labels`` (SST-2's 0 and
    1 by default; None accepts any integer), else ``CorpusFormatError`` names file:line.
    """
    required = (text_column,) if label_column is None else (text_column, label_column)
    for number, row in read_tsv_numbered(path, required):
        label = None
        if label_column is not None:
            text = row[label_column]
            if not _INTEGER.fullmatch(text):
                raise CorpusFormatError(path, number, f"expected an integer label, got {text!r}")
            label = int(text)
            if labels is not None and label not in labels:
                raise CorpusFormatError(
                    path, number, f"expected a label in {sorted(labels)}, got {text!r}"
                )
        yield row[text_column].strip(), label


CONLLU_COLUMNS = {"form": 1, "lemma": 2, "upos": 3, "xpos": 4}


def read_conllu(path: PathLike, column: str = "upos") -> Iterator[TaggedSentence]:
    """Sentences of a CoNLL-U file as (word forms, tags); ``column`` picks the tags
    (``"upos"``, default, or ``"xpos"``; also ``"lemma"``).

    Comment lines (``#``), multiword-token range lines (``3-4``) and empty nodes (``8.1``)
    are skipped; word ids must run 1, 2, 3, ... within a sentence; a blank line ends it.
    """
    for _, sentence in read_conllu_numbered(path, column):
        yield sentence


def read_conllu_numbered(
    path: PathLike, column: str = "upos"
) -> Iterator[tuple[int, TaggedSentence]]:
    """(line number of the sentence's first word, sentence); see ``read_conllu``."""
    if column not in CONLLU_COLUMNS:
        raise ValueError(f"CoNLL-U column must be one of {sorted(CONLLU_COLUMNS)}, got {column!r}")
    index, column_name = CONLLU_COLUMNS[column], column
    words: list[str] = []
    tags: list[str] = []
    first = 0
    for number, line in _numbered_lines(path):
        if not line.strip():
            if words:
                yield first, TaggedSentence(words, tags)
                words, tags = [], []
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            raise CorpusFormatError(
                path, number, f"expected 10 tab-separated CoNLL-U columns, got {len(fields)}"
            )
        token_id = fields[0]
        if "-" in token_id or "." in token_id:
            continue
        if token_id != str(len(words) + 1):
            raise CorpusFormatError(
                path, number, f"expected word id {len(words) + 1}, got {token_id!r}"
            )
        for column, name in ((1, "FORM"), (index, column_name.upper())):
            if not fields[column].strip():
                raise CorpusFormatError(
                    path,
                    number,
                    f"word {token_id}: empty {name} (column {column + 1}); "
                    "expected a non-empty value or '_'",
                )
        if not words:
            first = number
        words.append(fields[1])
        tags.append(fields[index])
    if words:
        yield first, TaggedSentence(words, tags)


def read_parallel(source_path: PathLike, target_path: PathLike) -> Iterator[tuple[str, str]]:
    """Line-aligned (source, target) pairs, e.g. Multi30k ``train.en.gz`` / ``train.de.gz``.

    The text is raw (not tokenized); the files must have the same number of lines.
    """
    source, target = _numbered_lines(source_path), _numbered_lines(target_path)
    count = 0
    while True:
        a, b = next(source, None), next(target, None)
        if a is None and b is None:
            return
        if a is None or b is None:
            shorter, longer = (
                (source_path, target_path) if a is None else (target_path, source_path)
            )
            raise CorpusFormatError(
                longer,
                count + 1,
                f"parallel files differ in length: {shorter} ends after {count} lines",
            )
        count += 1
        yield a[1], b[1]
