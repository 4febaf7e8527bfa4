"""Sentence classification data: labelled texts -> vocabularies -> bucketed padded batches.

    TSV (text, label columns) --read--> LabeledText --encode--> (ids, label id)
        --BucketedBatches--> ClassifyBatch(ids (B, T), lengths (B,), labels (B,))

Datasets: ``sst2`` (GLUE SST-2 from the data directory: train, and dev as ``valid``; GLUE's
test split has no labels) with the labels named ``negative`` / ``positive``, and
``tsv:PATH``: a TSV file with a header row (text and label columns chosen by name), or a
folder holding ``train.tsv`` and ``dev.tsv`` (or ``valid.tsv``) and optionally ``test.tsv``.
A single file is split deterministically: every 10th row is ``valid``.

Every error names the file and line: a missing column, an empty sentence, a label that
the training data never showed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

from rnnlab.text import corpora
from rnnlab.text.datasets import resolve_dataset
from rnnlab.text.labels import LabelVocabulary, UnknownLabelError
from rnnlab.text.padding import pad_ids
from rnnlab.text.sentence_batching import BucketedBatches
from rnnlab.text.tokenize import Tokenizer, WordTokenizer
from rnnlab.text.vocab import Vocabulary, build_vocab

SST2_LABELS = {"0": "negative", "1": "positive"}


class ClassifyBatch(NamedTuple):
    """A padded batch of sentences and their classes."""

    ids: Tensor  # (B, T) word ids, right-padded with <PAD> = 0
    lengths: Tensor  # (B,) true lengths, each >= 1
    labels: Tensor  # (B,) class ids in 0..C-1 (-1: no label, for prediction)


@dataclass(frozen=True)
class LabeledText:
    """One example and where it came from (``file:line``, for error messages)."""

    text: str
    label: str | None
    source: str


def read_labeled_tsv(
    path: str | Path,
    text_column: str = "sentence",
    label_column: str | None = "label",
    rename: dict[str, str] | None = None,
) -> list[LabeledText]:
    """Rows of a TSV with a header; ``label_column=None`` reads unlabelled text.

    Raises CorpusFormatError (``file:1: expected header columns ...``) when a column is
    missing; ``rename`` maps raw label strings to names (SST-2: "0" -> "negative").
    """
    required = (text_column,) if label_column is None else (text_column, label_column)
    rows = []
    for number, row in corpora.read_tsv_numbered(path, required):
        label = None if label_column is None else row[label_column].strip()
        if rename is not None and label is not None:
            label = rename.get(label, label)
        rows.append(LabeledText(row[text_column].strip(), label, f"{path}:{number}"))
    return rows


def load_classification(
    dataset: str,
    data_dir: str | Path | None = None,
    splits: Sequence[str] | None = None,
    *,
    text_column: str = "sentence",
    label_column: str = "label",
) -> dict[str, list[LabeledText]]:
    """``{"train": [...], "valid": [...], ("test": [...])}`` for ``sst2`` or ``tsv:PATH``."""
    if dataset == "sst2":
        paths = resolve_dataset("sst2", data_dir)
        files = {"train": paths["train"], "valid": paths["dev"]}
        rename = SST2_LABELS
    elif dataset.startswith("tsv:"):
        files, rename = _tsv_files(Path(dataset[4:])), None
    else:
        raise ValueError(f"classification dataset must be 'sst2' or 'tsv:PATH', got {dataset!r}")
    wanted = list(files) if splits is None else list(splits)
    if isinstance(files, _HeldOut):
        rows = read_labeled_tsv(files.path, text_column, label_column)
        parts = {"train": [r for i, r in enumerate(rows) if i % 10 != 9],
                 "valid": [r for i, r in enumerate(rows) if i % 10 == 9]}  # fmt: skip
        return {s: parts[s] for s in wanted if s in parts}
    return {
        split: read_labeled_tsv(files[split], text_column, label_column, rename)
        for split in wanted
        if split in files
    }


class _HeldOut(dict):
    """One TSV file: train and valid are cut from it (every 10th row is valid)."""

    def __init__(self, path: Path) -> None:
        super().__init__(train=path, valid=path)
        self.path = path


def _tsv_files(path: Path) -> dict[str, Path]:
    if path.is_file():
        return _HeldOut(path)
    if not path.is_dir():
        raise FileNotFoundError(f"tsv:{path}: no such file or folder")
    files = {"train": path / "train.tsv"}
    for name in ("dev.tsv", "valid.tsv"):
        if (path / name).is_file():
            files["valid"] = path / name
            break
    if (path / "test.tsv").is_file():
        files["test"] = path / "test.tsv"
    if not files["train"].is_file() or "valid" not in files:
        raise FileNotFoundError(f"tsv:{path}: expected train.tsv and dev.tsv (or valid.tsv) there")
    return files


def default_tokenizer() -> Tokenizer:
    """Lowercase, split off ``. ! ? ; ,``, split on spaces (SST-2 is already tokenized)."""
    return WordTokenizer()


def build_classification_vocabs(
    train: Sequence[LabeledText], *, min_freq: int = 1, max_size: int | None = None
) -> dict[str, Vocabulary | LabelVocabulary]:
    """``{"words": Vocabulary, "labels": LabelVocabulary}`` from the training examples."""
    words = build_vocab(
        (x.text for x in train), tokenizer=default_tokenizer(), min_freq=min_freq,
        max_size=max_size,
    )  # fmt: skip
    labels = LabelVocabulary.from_labels(x.label for x in train if x.label is not None)
    return {"words": words, "labels": labels}


def encode_text(text: str, words: Vocabulary, source: str = "input") -> list[int]:
    """Word ids of one sentence; ValueError naming ``source`` if it has no tokens."""
    ids = words.encode(text)
    if not ids:
        raise ValueError(f"{source}: empty sentence (expected at least one token)")
    return ids


def encode_classification(
    examples: Sequence[LabeledText], vocabs: dict
) -> list[tuple[list[int], int]]:
    """(word ids, class id) per example; errors name the file:line of the bad example."""
    words, labels = vocabs["words"], vocabs["labels"]
    out = []
    for x in examples:
        ids = encode_text(x.text, words, x.source)
        if x.label is None:
            out.append((ids, -1))
            continue
        try:
            out.append((ids, labels.encode(x.label)))
        except UnknownLabelError as err:
            raise ValueError(f"{x.source}: label not seen in training: {err}") from None
    return out


def collate_classify(examples: list[tuple[list[int], int]]) -> ClassifyBatch:
    """[(ids, label)] * B -> ClassifyBatch(ids (B, T), lengths (B,), labels (B,))."""
    ids, lengths = pad_ids([x[0] for x in examples])  # (B, T), (B,)
    labels = torch.tensor([x[1] for x in examples], dtype=torch.long)  # (B,)
    return ClassifyBatch(ids, lengths, labels)


def classification_batches(
    encoded: Sequence[tuple[list[int], int]],
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
) -> BucketedBatches:
    """Bucketed ``ClassifyBatch``es over encoded examples (see ``sentence_batching``)."""
    return BucketedBatches(
        encoded,
        length=lambda x: len(x[0]),
        collate=collate_classify,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
    )
