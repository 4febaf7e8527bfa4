"""Classification and tagging data: batches, vocabularies, and errors that name file:line."""

from __future__ import annotations

import pytest
import torch

from rnnlab.text.classification_data import (
    build_classification_vocabs,
    classification_batches,
    encode_classification,
    load_classification,
)
from rnnlab.text.corpora import CorpusFormatError
from rnnlab.text.tagging_data import (
    SourcedSentence,
    build_tagging_vocabs,
    encode_tagging,
    load_tagging,
    tagging_batches,
)
from rnnlab.text.word_shapes import SHAPES

CONLLU = """# sent_id = 1
1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_
2\tdog\tdog\tNOUN\tNN\t_\t3\tnsubj\t_\t_
3\tbarked\tbark\tVERB\tVBD\t_\t0\troot\t_\t_

1\tDogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_
2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\t_

"""


def _tsv(tmp_path, name, rows, header="sentence\tlabel"):
    path = tmp_path / name
    path.write_text(header + "\n" + "".join(f"{a}\t{b}\n" for a, b in rows), encoding="utf-8")
    return path


def test_tsv_folder_gives_batches_with_lengths_and_labels(tmp_path):
    _tsv(tmp_path, "train.tsv", [("a good film", "pos"), ("bad", "neg"), ("so so", "neg")])
    _tsv(tmp_path, "dev.tsv", [("good", "pos")])
    texts = load_classification(f"tsv:{tmp_path}")
    vocabs = build_classification_vocabs(texts["train"])
    assert vocabs["labels"].labels == ["neg", "pos"]
    batch = next(iter(classification_batches(encode_classification(texts["train"], vocabs), 3)))
    assert batch.lengths.tolist() == [1, 2, 3]  # sorted by length
    assert batch.ids.shape == (3, 3) and batch.ids[0, 1:].tolist() == [0, 0]
    assert batch.labels.tolist() == [0, 0, 1]


def test_tsv_columns_chosen_by_name_and_single_file_holds_out_valid(tmp_path):
    rows = [(str(i % 2), f"word{i} x") for i in range(20)]
    path = _tsv(tmp_path, "all.tsv", rows, header="y\ttext")
    texts = load_classification(f"tsv:{path}", text_column="text", label_column="y")
    assert len(texts["train"]) == 18 and len(texts["valid"]) == 2
    assert texts["valid"][0].text == "word9 x" and texts["valid"][0].label == "1"


def test_tsv_without_the_named_column_names_file_and_columns(tmp_path):
    path = _tsv(tmp_path, "train.tsv", [("x", "1")], header="text\tlabel")
    with pytest.raises(CorpusFormatError, match=r"train.tsv:1: expected header columns"):
        load_classification(f"tsv:{path}")


def test_unseen_label_and_empty_sentence_name_file_and_line(tmp_path):
    _tsv(tmp_path, "train.tsv", [("good", "pos"), ("bad", "neg")])
    _tsv(tmp_path, "dev.tsv", [("fine", "pos"), ("meh", "neutral")])
    texts = load_classification(f"tsv:{tmp_path}")
    vocabs = build_classification_vocabs(texts["train"])
    with pytest.raises(ValueError, match=r"dev.tsv:3: label not seen in training: .*'neutral'"):
        encode_classification(texts["valid"], vocabs)
    _tsv(tmp_path, "dev.tsv", [("fine", "pos"), ("  ", "neg")])
    texts = load_classification(f"tsv:{tmp_path}")
    with pytest.raises(ValueError, match=r"dev.tsv:3: empty sentence"):
        encode_classification(texts["valid"], vocabs)


def test_conllu_tagging_batches_hold_characters_per_word(tmp_path):
    (tmp_path / "x-train.conllu").write_text(CONLLU, encoding="utf-8")
    (tmp_path / "x-dev.conllu").write_text(CONLLU, encoding="utf-8")
    data = load_tagging(f"conllu:{tmp_path}")
    assert data["train"][0].words == ["The", "dog", "barked"]
    assert data["train"][1].source.endswith("x-train.conllu:6")
    vocabs = build_tagging_vocabs(data["train"])
    assert "the" in vocabs["words"] and "The" not in vocabs["words"]
    assert vocabs["tags"].labels == ["DET", "NOUN", "VERB"]
    batch = next(iter(tagging_batches(encode_tagging(data["train"], vocabs), 2)))
    assert batch.lengths.tolist() == [2, 3]
    assert batch.tags[0].tolist() == [1, 2, -1]
    assert batch.char_lengths.tolist() == [[4, 4, 0], [3, 3, 6]]
    assert vocabs["chars"].decode(batch.chars[0, 0, :4]) == ["D", "o", "g", "s"]
    xpos = load_tagging(f"conllu:{tmp_path}", column="xpos")
    assert xpos["train"][0].tags == ["DT", "NN", "VBD"]


def test_malformed_conllu_line_and_unseen_tag_are_named(tmp_path):
    bad = tmp_path / "bad.conllu"
    bad.write_text(CONLLU.replace("2\tdog\tdog", "2\tdog"), encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"bad.conllu:3: expected 10 tab-separated"):
        load_tagging(f"conllu:{bad}")
    (tmp_path / "a-train.conllu").write_text(CONLLU, encoding="utf-8")
    (tmp_path / "a-dev.conllu").write_text(CONLLU.replace("VERB\tVBP", "AUX\tVBP"), "utf-8")
    data = load_tagging(f"conllu:{tmp_path}")
    vocabs = build_tagging_vocabs(data["train"])
    with pytest.raises(ValueError, match=r"a-dev.conllu:6: tag not seen in training: .*'AUX'"):
        encode_tagging(data["valid"], vocabs)


def test_sst2_slice(shared_data):
    texts = load_classification("sst2", shared_data, splits=["valid"])
    assert len(texts["valid"]) == 872
    assert {x.label for x in texts["valid"]} == {"negative", "positive"}
    vocabs = build_classification_vocabs(texts["valid"])
    data = classification_batches(encode_classification(texts["valid"], vocabs), 32, shuffle=True)
    assert data.padding_fraction < 0.15  # bucketing keeps padding small
    assert sum(int(b.labels.numel()) for b in data) == 872


def test_ud_ewt_slice(shared_data):
    data = load_tagging("ud-ewt", shared_data, splits=["valid"])
    assert len(data["valid"]) == 2001
    vocabs = build_tagging_vocabs(data["valid"][:200])
    assert len(vocabs["tags"]) == 17  # the UPOS tag set
    batches = tagging_batches(encode_tagging(data["valid"][:200], vocabs), 16, shuffle=True)
    assert batches.padding_fraction < 0.15
    assert sum(int(b.lengths.sum()) for b in batches) == sum(
        len(s.words) for s in data["valid"][:200]
    )
    assert all(torch.equal(b.tags >= 0, b.char_lengths > 0) for b in batches)


def test_unknown_words_map_to_their_signatures(tmp_path):
    (tmp_path / "x-train.conllu").write_text(CONLLU, encoding="utf-8")
    (tmp_path / "x-dev.conllu").write_text(CONLLU, encoding="utf-8")
    train = load_tagging(f"conllu:{tmp_path}")["train"]
    plain = build_tagging_vocabs(train)
    vocabs = build_tagging_vocabs(train, signatures=True)
    words = vocabs["words"]
    # the words first (same ids as without signatures), then the training signatures
    assert words.idx2word[: len(plain["words"])] == plain["words"].idx2word
    assert words.idx2word[len(plain["words"]) :] == ["<UNK-Cap>", "<UNK-ed>", "<UNK-Cap-s>"]
    sentence = SourcedSentence(["Rex", "barked", "loudly", "Wugs", "parted"], None, "s:1")
    (x,) = encode_tagging([sentence], vocabs, signatures=True)
    assert words.decode(x.ids) == ["<UNK-Cap>", "barked", "<UNK>", "<UNK-Cap-s>", "<UNK-ed>"]
    # "loudly": its signature <UNK-ly> was never seen in training, so it is <UNK>
    assert words.decode(x.fallback) == ["<UNK-Cap>", "<UNK-ed>", "<UNK>", "<UNK-Cap-s>",
                                        "<UNK-ed>"]  # fmt: skip
    assert [i == f for i, f in zip(x.ids, x.fallback)] == [True, False, True, True, True]
    assert [SHAPES[s] for s in x.shapes] == ["Title", "lower", "lower", "Title", "lower"]
    (y,) = encode_tagging([sentence], plain)  # without signatures: <UNK> and its fallback
    assert plain["words"].decode(y.ids) == ["<UNK>", "barked", "<UNK>", "<UNK>", "<UNK>"]
    assert set(y.fallback) == {plain["words"].unk_index}
    batch = next(iter(tagging_batches([x, y], 2)))
    assert batch.fallback.shape == batch.shapes.shape == batch.ids.shape == (2, 5)
