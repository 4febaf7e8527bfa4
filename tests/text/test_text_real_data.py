"""Each reader parses the real files in ../shared/data with the published counts.

Counts are those of ../shared/data/README.md (PTB: Mikolov; WikiText-2: Merity et al.;
SST-2: GLUE; EWT: UD 2.16; Multi30k task 1).
"""

from __future__ import annotations

from collections import Counter

from rnnlab.text import build_vocab, datasets
from rnnlab.text.corpora import read_conllu, read_token_lines


def test_ptb_tokens_and_vocabulary(shared_data):
    splits = datasets.lm_splits("ptb", shared_data, download=False)
    assert {k: len(v) for k, v in splits.items()} == {
        "train": 929_589,
        "valid": 73_760,
        "test": 82_430,
    }
    train = splits["train"]
    counts = Counter(train)
    assert len(counts) == 10_000  # 9,999 words + <eos>
    assert counts["<eos>"] == 42_068 and counts["<unk>"] == 45_020
    assert set(splits["valid"]) <= set(counts) and set(splits["test"]) <= set(counts)
    vocab = build_vocab([train])
    assert len(vocab) == 10_002  # <PAD>, <UNK> + 10,000 corpus types
    assert vocab.idx2word[2] == "the" and vocab.decode(vocab.encode(train[:50])) == train[:50]


def test_wikitext2_tokens_and_vocabulary(shared_data):
    splits = datasets.lm_splits("wikitext2", shared_data, download=False)
    assert {k: len(v) for k, v in splits.items()} == {
        "train": 2_088_628,
        "valid": 217_646,
        "test": 245_569,
    }
    assert len(set(splits["train"])) == 33_278
    lines = list(read_token_lines(shared_data / "wikitext-2" / "valid.txt"))
    assert lines[0] == ["<eos>"] and lines[1] == ["=", "Homarus", "gammarus", "=", "<eos>"]
    assert "@-@" in splits["valid"]


def test_sst2_rows_and_labels(shared_data):
    sst = datasets.load_sst2(shared_data, download=False)
    assert {k: len(v) for k, v in sst.items()} == {"train": 67_349, "dev": 872, "test": 1_821}
    assert Counter(label for _, label in sst["train"]) == {0: 29_780, 1: 37_569}
    assert Counter(label for _, label in sst["dev"]) == {0: 428, 1: 444}
    assert {label for _, label in sst["test"]} == {None}
    assert sst["dev"][0] == ("it 's a charming and often affecting journey .", 1)


def test_ud_ewt_sentences_words_and_tags(shared_data):
    dev = list(read_conllu(shared_data / "ud-ewt" / "en_ewt-ud-dev.conllu"))
    assert len(dev) == 2_001 and sum(len(s.words) for s in dev) == 25_147
    assert dev[0].words == ["From", "the", "AP", "comes", "this", "story", ":"]
    assert dev[0].tags == ["ADP", "DET", "PROPN", "VERB", "DET", "NOUN", "PUNCT"]
    ewt = datasets.load_ud_ewt(shared_data, download=False, splits=["train", "test"])
    assert [len(ewt["train"]), sum(len(s.words) for s in ewt["train"])] == [12_544, 204_577]
    assert [len(ewt["test"]), sum(len(s.words) for s in ewt["test"])] == [2_077, 25_094]
    tags = [{t for s in split for t in s.tags} for split in (dev, ewt["train"], ewt["test"])]
    assert len(tags[0]) == 17 and tags[0] == tags[1] == tags[2]


def test_multi30k_pairs(shared_data):
    pairs = datasets.load_multi30k(shared_data, download=False)
    assert {k: len(v) for k, v in pairs.items()} == {"train": 29_000, "val": 1_014, "test": 1_000}
    assert pairs["val"][0] == (
        "A group of men are loading cotton onto a truck",
        "Eine Gruppe von Männern lädt Baumwolle auf einen Lastwagen",
    )
    de_en = datasets.load_multi30k(
        shared_data, download=False, splits=["val"], source="de", target="en"
    )
    assert de_en["val"][0] == pairs["val"][0][::-1]
