"""Sequence tagging data: CoNLL-U sentences -> word, character and tag ids -> padded batches.

    CoNLL-U --read--> (forms, tags) --encode--> TaggedExample
        --BucketedBatches--> TagBatch(ids (B, T), lengths (B,), tags (B, T),
                                      chars (B, T, W), char_lengths (B, T),
                                      fallback (B, T), shapes (B, T))

Words are looked up lowercased (``lowercase=True``) in the ``words`` vocabulary; the
character features see the original form, case included. ``chars[b, t]`` holds the
characters of word t of sentence b, padded to the longest word W of the batch; padded word
positions have ``char_lengths == 0`` and ``tags == -1``.

Unknown-word signatures (``signatures=True``, ``text/word_shapes.py``): the vocabulary also
holds the signature tokens seen in training (``<UNK-Cap-s>``, ``<UNK-num>``, ...) and a word
not in it maps to its signature (to ``<UNK>`` when that signature is unknown too).
``fallback[b, t]`` is the id a word takes when word dropout hides it: its signature's id
with signatures, else ``<UNK>``; an unknown word's id equals its fallback. ``shapes[b, t]``
is its casing class (``word_shape``; 0 at padding), read from the original form.

Datasets: ``ud-ewt`` (UD English EWT train / dev as ``valid`` / test; with ``upos`` the tag
set is the 17 universal tags) and ``conllu:PATH`` (tags: those seen in training):
a ``.conllu`` file (every 10th sentence is ``valid``) or a folder with ``*train*.conllu``,
``*dev*.conllu`` and optionally ``*test*.conllu``. ``column`` picks ``upos`` or ``xpos``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

from rnnlab.text import corpora
from rnnlab.text.datasets import resolve_dataset
from rnnlab.text.labels import LabelVocabulary, UnknownLabelError
from rnnlab.text.padding import pad_ids
from rnnlab.text.sentence_batching import BucketedBatches
from rnnlab.text.tokenize import CharTokenizer, WordTokenizer
from rnnlab.text.vocab import Vocabulary, build_vocab
from rnnlab.text.word_shapes import unknown_signature, word_shape

UNK_INDEX = Vocabulary.unk_index

# The 17 universal part-of-speech tags of UD v2 (universaldependencies.org/u/pos/).
UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
             "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X")  # fmt: skip


class TagBatch(NamedTuple):
    """A padded batch of sentences with per-word characters and tags."""

    ids: Tensor  # (B, T) word ids, right-padded with <PAD> = 0
    lengths: Tensor  # (B,) words per sentence, each >= 1
    tags: Tensor  # (B, T) tag ids; -1 at padding (and when unknown, for prediction)
    chars: Tensor  # (B, T, W) character ids, 0-padded
    char_lengths: Tensor  # (B, T) characters per word; 0 at padded word positions
    fallback: Tensor  # (B, T) id under word dropout (signature or <UNK>); 0 at padding
    shapes: Tensor  # (B, T) casing class (word_shapes.SHAPES); 0 at padding


@dataclass(frozen=True)
class TaggedExample:
    """One encoded sentence (``fallback`` and ``shapes`` empty: all <UNK> / all 0)."""

    ids: list[int]  # (T,) word ids
    tags: list[int]  # (T,) tag ids (-1 = unknown)
    chars: list[list[int]]  # T lists of character ids
    fallback: list[int] = field(default_factory=list)  # (T,) ids under word dropout
    shapes: list[int] = field(default_factory=list)  # (T,) casing classes


@dataclass(frozen=True)
class SourcedSentence:
    """Forms and tags of one sentence, and where it starts (``file:line``)."""

    words: list[str]
    tags: list[str] | None
    source: str


def read_tagged(path: str | Path, column: str = "upos") -> list[SourcedSentence]:
    """Every sentence of a CoNLL-U file (errors name ``file:line``)."""
    return [
        SourcedSentence(s.words, s.tags, f"{path}:{line}")
        for line, s in corpora.read_conllu_numbered(path, column)
    ]


def load_tagging(
    dataset: str,
    data_dir: str | Path | None = None,
    splits: Sequence[str] | None = None,
    *,
    column: str = "upos",
) -> dict[str, list[SourcedSentence]]:
    """``{"train", "valid", "test"}`` sentences of ``ud-ewt`` or ``conllu:PATH``."""
    if dataset == "ud-ewt":
        paths = resolve_dataset("ud-ewt", data_dir)
        files = {"train": paths["train"], "valid": paths["dev"], "test": paths["test"]}
    elif dataset.startswith("conllu:"):
        path = Path(dataset[7:])
        if path.is_file():
            sentences = read_tagged(path, column)
            parts = {
                "train": [s for i, s in enumerate(sentences) if i % 10 != 9],
                "valid": [s for i, s in enumerate(sentences) if i % 10 == 9],
            }
            return {s: parts[s] for s in (splits or parts) if s in parts}
        files = _conllu_files(path)
    else:
        raise ValueError(f"tagging dataset must be 'ud-ewt' or 'conllu:PATH', got {dataset!r}")
    wanted = list(files) if splits is None else list(splits)
    return {split: read_tagged(files[split], column) for split in wanted if split in files}


def _conllu_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"conllu:{folder}: no such file or folder")
    files = {}
    for split, key in (("train", "train"), ("valid", "dev"), ("test", "test")):
        found = sorted(folder.glob(f"*{key}*.conllu"))
        if found:
            files[split] = found[0]
    if "train" not in files or "valid" not in files:
        raise FileNotFoundError(f"conllu:{folder}: expected *train*.conllu and *dev*.conllu")
    return files


def build_tagging_vocabs(
    train: Sequence[SourcedSentence],
    *,
    lowercase: bool = True,
    min_freq: int = 1,
    tag_set: Sequence[str] = (),
    signatures: bool = False,
) -> dict[str, Vocabulary | LabelVocabulary]:
    """``{"words", "chars", "tags"}`` from the training sentences; ``tag_set`` adds tags
    known in advance (e.g. ``UPOS_TAGS``), so a slice of the training data need not hold
    every one. With ``signatures`` the words vocabulary also holds every signature of a
    training word (after the words, most frequent first)."""
    forms = [[w.lower() if lowercase else w for w in s.words] for s in train]
    words = build_vocab(forms, tokenizer=WordTokenizer.whitespace(), min_freq=min_freq)
    if signatures:
        words.build_vocab([[unknown_signature(w) for w in s.words] for s in train])
    chars = build_vocab(("".join(s.words) for s in train), tokenizer=CharTokenizer())
    tags = LabelVocabulary.from_labels([*tag_set, *(t for s in train for t in s.tags or [])])
    return {"words": words, "chars": chars, "tags": tags}


def encode_words(
    words: Sequence[str], vocabs: dict, *, lowercase: bool, signatures: bool = False,
    tags: list[int] | None = None, source: str = "input",
) -> TaggedExample:  # fmt: skip
    """One sentence's word, character, fallback and shape ids (tags: ``tags`` or all -1);
    ValueError if it is empty. See the module docstring for ``signatures``."""
    if not words:
        raise ValueError(f"{source}: empty sentence (expected at least one word)")
    vocab: Vocabulary = vocabs["words"]
    unk = vocab.unk_index
    ids, fallback = [], []
    for w in words:
        back = vocab.word2idx.get(unknown_signature(w), unk) if signatures else unk
        ids.append(vocab.word2idx.get(w.lower() if lowercase else w, back))
        fallback.append(back)
    chars = [vocabs["chars"].encode(list(w)) for w in words]
    shapes = [word_shape(w) for w in words]
    return TaggedExample(ids, [-1] * len(ids) if tags is None else tags, chars, fallback, shapes)


def encode_tagging(
    sentences: Sequence[SourcedSentence], vocabs: dict, *, lowercase: bool = True,
    signatures: bool = False,
) -> list[TaggedExample]:  # fmt: skip
    """Encode sentences; an unseen tag is an error naming the sentence's file:line."""
    tags_vocab: LabelVocabulary = vocabs["tags"]
    out = []
    for s in sentences:
        try:
            tags = None if s.tags is None else tags_vocab.encode_many(s.tags)
        except UnknownLabelError as err:
            raise ValueError(f"{s.source}: tag not seen in training: {err}") from None
        out.append(encode_words(s.words, vocabs, lowercase=lowercase, signatures=signatures,
                                tags=tags, source=s.source))  # fmt: skip
    return out


def collate_tags(examples: list[TaggedExample]) -> TagBatch:
    """B encoded sentences -> one TagBatch (see the module docstring for the layout)."""
    ids, lengths = pad_ids([x.ids for x in examples])  # (B, T), (B,)
    tags, _ = pad_ids([x.tags for x in examples], pad_index=-1)  # (B, T)
    fallback, _ = pad_ids([x.fallback or [UNK_INDEX] * len(x.ids) for x in examples])  # (B, T)
    shapes, _ = pad_ids([x.shapes or [0] * len(x.ids) for x in examples])  # (B, T)
    B, T = ids.shape
    W = max(len(c) for x in examples for c in x.chars)
    chars = torch.zeros(B, T, W, dtype=torch.long)  # (B, T, W)
    char_lengths = torch.zeros(B, T, dtype=torch.long)  # (B, T)
    for b, x in enumerate(examples):
        for t, word in enumerate(x.chars):
            chars[b, t, : len(word)] = torch.tensor(word, dtype=torch.long)
            char_lengths[b, t] = len(word)
    return TagBatch(ids, lengths, tags, chars, char_lengths, fallback, shapes)


def tagging_batches(
    encoded: Sequence[TaggedExample], batch_size: int, *, shuffle: bool = False, seed: int = 0
) -> BucketedBatches:
    """Bucketed ``TagBatch``es over encoded sentences (see ``sentence_batching``)."""
    return BucketedBatches(
        encoded,
        length=lambda x: len(x.ids),
        collate=collate_tags,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
    )
