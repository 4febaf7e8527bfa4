"""Sentence pairs: reading (plain and gzipped), the errors for malformed pairs (naming file
and line), toy tasks, encoding and collation."""

from __future__ import annotations

import gzip

import pytest

from rnnlab.text import translation_data as td
from rnnlab.text.corpora import CorpusFormatError


def write(path, lines, gz=False):
    text = "".join(line + "\n" for line in lines)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_read_pairs_plain_and_gzipped_with_their_origins(tmp_path):
    src = write(tmp_path / "a.de", ["ein Hund", " zwei Katzen "])
    tgt = write(tmp_path / "a.en.gz", ["a dog", "two cats"], gz=True)
    pairs = td.read_pairs(src, tgt)
    assert [(p.source, p.target) for p in pairs] == [
        ("ein Hund", "a dog"),
        ("zwei Katzen", "two cats"),
    ]
    assert pairs[1].origin == f"{src}:2"


def test_unequal_line_counts_name_the_longer_file_and_line(tmp_path):
    src = write(tmp_path / "s.txt", ["a", "b", "c"])
    tgt = write(tmp_path / "t.txt", ["x", "y"])
    with pytest.raises(CorpusFormatError, match=r"s\.txt:3: parallel files differ in length"):
        td.read_pairs(src, tgt)


@pytest.mark.parametrize("side", ["source", "target"])
def test_an_empty_line_on_either_side_names_file_and_line(tmp_path, side):
    good, bad = ["a", "b", "c"], ["a", "  ", "c"]
    src = write(tmp_path / "s.txt", bad if side == "source" else good)
    tgt = write(tmp_path / "t.txt.gz", bad if side == "target" else good, gz=True)
    name = "s.txt" if side == "source" else "t.txt.gz"
    with pytest.raises(CorpusFormatError, match=rf"{name}:2: empty {side} line"):
        td.read_pairs(src, tgt)


def test_multi30k_refuses_an_unknown_language_pair():
    with pytest.raises(ValueError, match="multi30k has the language pair de-en.*--src fr"):
        td.load_pairs("multi30k", source="fr", target="en")


def test_parallel_with_a_missing_file_names_it(tmp_path):
    src = write(tmp_path / "s.txt", ["a"])
    with pytest.raises(FileNotFoundError, match="no such file .*missing.txt"):
        td.load_pairs(f"parallel:{src},{tmp_path / 'missing.txt'}")
    with pytest.raises(ValueError, match="expected parallel:SRC_PATH,TGT_PATH"):
        td.load_pairs(f"parallel:{src}")
    with pytest.raises(ValueError, match="unknown translation dataset 'wmt'"):
        td.load_pairs("wmt")


def test_parallel_holds_out_the_last_pairs_for_validation(tmp_path):
    src = write(tmp_path / "s.txt", [f"s{i}" for i in range(40)])
    tgt = write(tmp_path / "t.txt", [f"t{i}" for i in range(40)])
    pairs = td.load_pairs(f"parallel:{src},{tgt}", splits=("train", "valid"))
    assert len(pairs["train"]) == 38 and [p.source for p in pairs["valid"]] == ["s38", "s39"]


@pytest.mark.parametrize("task", ["reverse", "addition"])
def test_toy_pairs_are_seeded_and_correct(task):
    pairs = td.toy_pairs(task, 200, seed=3)
    assert pairs == td.toy_pairs(task, 200, seed=3) != td.toy_pairs(task, 200, seed=4)
    for p in pairs:
        if task == "reverse":
            assert p.target == p.source[::-1] and 3 <= len(p.source) <= 8
        else:
            a, b = p.source.split("+")
            assert int(p.target) == int(a) + int(b)


def test_encoding_too_long_pairs_is_an_error_or_a_drop_and_collation_adds_bos_eos():
    pairs = [td.Pair("abc", "cba", "toy #1"), td.Pair("abcdefgh", "hgfedcba", "toy #2")]
    vocabs = td.build_translation_vocabs(pairs, "char")
    with pytest.raises(ValueError, match="toy #2: 8 tokens, more than the model's limit of 5"):
        td.encode_pairs(pairs, vocabs, 5)
    encoded, dropped = td.encode_pairs(pairs, vocabs, 5, drop_long=True)
    assert dropped == 1 and len(encoded) == 1
    with pytest.raises(ValueError, match="line 4: source has 8 tokens, more than the model's"):
        td.encode_source("abcdefgh", vocabs["source"], "line 4", 5)
    with pytest.raises(ValueError, match="line 2: empty source sentence"):
        td.encode_source("", vocabs["source"], "line 2", 5)
    target = vocabs["target"]
    batch = td.collate_pairs(encoded + [(encoded[0][0][:1], encoded[0][1][:2])],
                             target.bos_index, target.eos_index)  # fmt: skip
    assert batch.tgt_in[:, 0].tolist() == [target.bos_index] * 2
    assert batch.tgt_out[0].tolist() == encoded[0][1] + [target.eos_index]
    assert batch.tgt_out[1].tolist() == encoded[0][1][:2] + [target.eos_index, 0]
    assert batch.src_lengths.tolist() == [3, 1] and batch.tgt_lengths.tolist() == [4, 3]
    assert "<BOS>" in target and "<BOS>" not in vocabs["source"]


def test_sentencepiece_vocabulary_is_trained_on_the_training_side_and_round_trips():
    pytest.importorskip("sentencepiece")
    from rnnlab.text.vocab import Vocabulary

    texts = [f"ein kleiner Hund läuft {i} mal über die Wiese ." for i in range(60)]
    vocab = td.build_side_vocabulary(texts, "sentencepiece", target=True, vocab_size=40)
    ids = vocab.encode("ein Hund läuft .")
    assert vocab.decode(ids, join=True) == "ein Hund läuft ."
    again = Vocabulary.from_dict(vocab.to_dict())
    assert again == vocab and again.encode("die Wiese") == vocab.encode("die Wiese")
