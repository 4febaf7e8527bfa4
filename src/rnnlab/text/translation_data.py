"""Sentence pairs for translation: reading, vocabularies, encoding, bucketed batches.

    multi30k (de, en) | parallel:SRC,TGT | reverse | addition
        --load_pairs--> {"train": [Pair], "valid": [...], "test": [...]}
        --build_translation_vocabs (train side only)--> {"source": V_s, "target": V_t}
        --encode_pairs--> (source ids, target ids) --translation_batches--> TranslateBatch

Tokens are SentencePiece subwords ("sentencepiece", trained on the training side), words
("word": rnnlab's word tokenizer, case kept) or characters ("char"; the toy tasks). The
target vocabulary has <BOS> and <EOS>: the decoder reads ``<BOS> y1 .. yn`` and predicts
``y1 .. yn <EOS>``.

Two toy tasks learn in seconds on a CPU: ``reverse`` ("abc" -> "cba") and ``addition``
("123+45" -> "168", the seq2seq chapter of "Deep Learning from Scratch 2"), generated from a
seeded generator, so every run sees the same pairs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from rnnlab.models.seq2seq import TranslateBatch
from rnnlab.text.corpora import CorpusFormatError, read_parallel
from rnnlab.text.padding import pad_ids
from rnnlab.text.sentence_batching import BucketedBatches
from rnnlab.text.tokenize import CharTokenizer, WordTokenizer
from rnnlab.text.vocab import Vocabulary

TOY_TASKS = ("reverse", "addition")
TOKENIZERS = ("sentencepiece", "word", "char")


class Pair(NamedTuple):
    """One sentence pair and where it came from (for error messages)."""

    source: str
    target: str
    origin: str  # "file:line" (source file), or "reverse #12" for generated pairs


# --------------------------------------------------------------------------- reading
def read_pairs(source_path: str | Path, target_path: str | Path) -> list[Pair]:
    """Line-aligned pairs from two text files (plain or .gz).

    Raises:
        CorpusFormatError: unequal line counts, or an empty line on either side (naming
            the file and line).
    """
    pairs = []
    for number, (src, tgt) in enumerate(read_parallel(source_path, target_path), start=1):
        for path, text, side in ((source_path, src, "source"), (target_path, tgt, "target")):
            if not text.strip():
                raise CorpusFormatError(path, number, f"empty {side} line (pair {number})")
        pairs.append(Pair(src.strip(), tgt.strip(), f"{source_path}:{number}"))
    if not pairs:
        raise CorpusFormatError(source_path, 1, "no sentence pairs")
    return pairs


def parse_parallel_spec(spec: str) -> tuple[Path, Path]:
    """``"SRC_PATH,TGT_PATH"`` -> two paths (ValueError naming what is wrong)."""
    parts = spec.split(",")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise ValueError(f"expected parallel:SRC_PATH,TGT_PATH (two files), got {spec!r}")
    paths = tuple(Path(p.strip()).expanduser() for p in parts)
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"parallel data: no such file {path}")
    return paths  # type: ignore[return-value]


def toy_pairs(task: str, n: int, seed: int, *, max_digits: int = 3, max_len: int = 8) -> list[Pair]:
    """``n`` generated pairs of a toy task ("reverse" or "addition"), from ``seed``.

    reverse: a random string of 3..``max_len`` letters a-j and its reversal;
    addition: "a+b" with a, b of 1..``max_digits`` digits, and the sum.
    """
    if task not in TOY_TASKS:
        raise ValueError(f"toy task must be one of {TOY_TASKS}, got {task!r}")
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        if task == "reverse":
            text = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, max_len)))
            pairs.append(Pair(text, text[::-1], f"reverse #{i + 1}"))
        else:
            a = rng.randint(0, 10 ** rng.randint(1, max_digits) - 1)
            b = rng.randint(0, 10 ** rng.randint(1, max_digits) - 1)
            pairs.append(Pair(f"{a}+{b}", str(a + b), f"addition #{i + 1}"))
    return pairs


def load_pairs(
    dataset: str,
    data_dir=None,
    splits: Sequence[str] = ("train", "valid", "test"),
    *,
    source: str = "de",
    target: str = "en",
    valid: str = "",
    test: str = "",
    toy_sizes: tuple[int, int, int] = (10000, 1000, 1000),
    seed: int = 0,
) -> dict[str, list[Pair]]:
    """The pairs of ``splits`` ("train", "valid", "test") of a named dataset.

    Args:
        dataset: "multi30k" (``source``/``target`` are "de" and "en"; test is
            test_2016_flickr), "parallel:SRC,TGT" (training files; ``valid`` / ``test`` name
            more "SRC,TGT" pairs; without ``valid`` the last 5% of the training pairs, at most
            1,000, are held out), "reverse" or "addition" (generated).
    """
    if dataset == "multi30k":
        if {source, target} != {"de", "en"}:
            raise ValueError(
                f"multi30k has the language pair de-en (either direction); got "
                f"--src {source} --tgt {target}"
            )
        from rnnlab.text.datasets import resolve_dataset

        paths = resolve_dataset("multi30k", data_dir)
        names = {"train": "train", "valid": "val", "test": "test"}
        return {
            s: read_pairs(paths[f"{names[s]}.{source}"], paths[f"{names[s]}.{target}"])
            for s in splits
        }
    if dataset in TOY_TASKS:
        sizes = dict(zip(("train", "valid", "test"), toy_sizes))
        offsets = {"train": 0, "valid": 1, "test": 2}
        return {s: toy_pairs(dataset, sizes[s], seed * 10 + offsets[s] + 1) for s in splits}
    if dataset.startswith("parallel:"):
        train = read_pairs(*parse_parallel_spec(dataset[len("parallel:") :]))
        out = {}
        if valid:
            out["valid"] = read_pairs(*parse_parallel_spec(valid))
        else:
            held = min(1000, max(1, len(train) // 20))
            if len(train) < 2:
                raise ValueError(f"{dataset}: need at least 2 pairs to hold one out for validation")
            train, out["valid"] = train[:-held], train[-held:]
        out["train"] = train
        if test:
            out["test"] = read_pairs(*parse_parallel_spec(test))
        return {s: out[s] for s in splits if s in out}
    raise ValueError(
        f"unknown translation dataset {dataset!r}; use multi30k, parallel:SRC,TGT, reverse "
        "or addition"
    )


# --------------------------------------------------------------------------- vocabularies
def build_side_vocabulary(
    texts: list[str],
    tokenizer: str,
    *,
    target: bool,
    vocab_size: int = 8000,
    min_freq: int = 1,
    num_threads: int = 1,
) -> Vocabulary:
    """The vocabulary of one side, from its training texts only (target: with <BOS>/<EOS>)."""
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")
    if tokenizer == "sentencepiece":
        from rnnlab.text.subwords import SentencePieceTokenizer, subword_vocabulary

        sp = SentencePieceTokenizer.train(texts, vocab_size=vocab_size, num_threads=num_threads)
        return subword_vocabulary(sp, bos=target, eos=target)
    tok = CharTokenizer() if tokenizer == "char" else WordTokenizer(lowercase=False)
    counts: dict[str, int] = {}
    for text in texts:
        for token in tok(text):
            counts[token] = counts.get(token, 0) + 1
    return Vocabulary.from_counts(counts, min_freq=min_freq, max_size=vocab_size or None,
                                  bos=target, eos=target, tokenizer=tok)  # fmt: skip


def build_translation_vocabs(
    train: list[Pair], tokenizer: str, *, vocab_size: int = 8000, min_freq: int = 1,
    num_threads: int = 1,
) -> dict[str, Vocabulary]:  # fmt: skip
    """``{"source": ..., "target": ...}`` from the training pairs."""
    return {
        side: build_side_vocabulary(
            [getattr(p, side) for p in train],
            tokenizer,
            target=side == "target",
            vocab_size=vocab_size,
            min_freq=min_freq,
            num_threads=num_threads,
        )  # fmt: skip
        for side in ("source", "target")
    }


# --------------------------------------------------------------------------- encoding
def encode_source(text: str, vocab: Vocabulary, where: str, max_length: int) -> list[int]:
    """Source ids of one text; ValueError naming ``where`` if it is empty or too long."""
    ids = vocab.encode(text)
    if not ids:
        raise ValueError(f"{where}: empty source sentence")
    if len(ids) > max_length:
        raise ValueError(
            f"{where}: source has {len(ids)} tokens, more than the model's limit of "
            f"{max_length} (max_source_length)"
        )
    return ids


def encode_kept(
    pairs: list[Pair], vocabs: dict[str, Vocabulary], max_length: int, *, drop_long: bool = False
) -> tuple[list[tuple[list[int], list[int]]], list[Pair]]:
    """(source ids, target ids) per pair, and the pairs they came from.

    ``drop_long`` skips pairs with a side over ``max_length`` tokens (training); otherwise
    they are errors naming the pair's file and line.
    """
    out, kept = [], []
    for pair in pairs:
        src, tgt = vocabs["source"].encode(pair.source), vocabs["target"].encode(pair.target)
        if not src or not tgt:
            side = "source" if not src else "target"
            raise ValueError(f"{pair.origin}: {side} has no tokens")
        if max(len(src), len(tgt) + 1) > max_length:
            if drop_long:
                continue
            raise ValueError(
                f"{pair.origin}: {max(len(src), len(tgt))} tokens, more than the model's limit "
                f"of {max_length} (max_source_length)"
            )
        out.append((src, tgt))
        kept.append(pair)
    return out, kept


def encode_pairs(
    pairs: list[Pair], vocabs: dict[str, Vocabulary], max_length: int, *, drop_long: bool = False
) -> tuple[list[tuple[list[int], list[int]]], int]:
    """(source ids, target ids) per pair and how many were dropped as too long
    (:func:`encode_kept`)."""
    out, kept = encode_kept(pairs, vocabs, max_length, drop_long=drop_long)
    return out, len(pairs) - len(kept)


def collate_pairs(
    examples: list[tuple[list[int], list[int]]], bos: int, eos: int
) -> TranslateBatch:
    """Pad a list of (source ids, target ids) into a :class:`TranslateBatch`."""
    src, src_lengths = pad_ids([s for s, _ in examples])  # (B, Ts), (B,)
    tgt_in, tgt_lengths = pad_ids([[bos] + t for _, t in examples])  # (B, Tt), (B,)
    tgt_out, _ = pad_ids([t + [eos] for _, t in examples])  # (B, Tt)
    return TranslateBatch(src, src_lengths, tgt_in, tgt_out, tgt_lengths)


class _Collate:
    """A picklable collate function bound to the target's <BOS> / <EOS> ids."""

    def __init__(self, bos: int, eos: int) -> None:
        self.bos, self.eos = bos, eos

    def __call__(self, examples):
        return collate_pairs(examples, self.bos, self.eos)


def _pair_length(example) -> int:
    return max(len(example[0]), len(example[1]))


def translation_batches(
    examples: list[tuple[list[int], list[int]]],
    target: Vocabulary,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
) -> BucketedBatches:
    """Batches bucketed by pair length (the longer side), padded per batch."""
    return BucketedBatches(
        examples, length=_pair_length, collate=_Collate(target.bos_index, target.eos_index),
        batch_size=batch_size, shuffle=shuffle, seed=seed,
    )  # fmt: skip


def source_batches(ids: list[list[int]], batch_size: int):
    """Yield (index list, src (B, Ts), lengths (B,)) over sources sorted by length, so a
    batch wastes little padding; the indices put the results back in input order."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        src, lengths = pad_ids([ids[i] for i in chunk])
        yield chunk, src, lengths


def pairs_fingerprint(examples) -> str:
    import hashlib

    digest = hashlib.sha256()
    for src, tgt in examples:
        digest.update(f"{','.join(map(str, src))}|{','.join(map(str, tgt))};".encode())
    return digest.hexdigest()


__all__ = [
    "Pair", "read_pairs", "toy_pairs", "load_pairs", "build_translation_vocabs",
    "encode_pairs", "encode_kept", "encode_source", "collate_pairs", "translation_batches",
    "source_batches",
]  # fmt: skip
