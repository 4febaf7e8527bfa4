"""Hostile text inputs (issue 13): fake and truncated gzip files, non-UTF-8 bytes, labels
that are not SST-2's, empty CoNLL-U fields, empty texts in a batch. Each is an error that
names the file and line (or the index), never a silent wrong result."""

from __future__ import annotations

import gzip
import math

import pytest
import torch

from rnnlab.text import build_vocab
from rnnlab.text.corpora import (
    CorpusFormatError,
    read_conllu,
    read_labeled_sentences,
    read_lines,
    read_parallel,
    read_token_lines,
)
from rnnlab.text.lm_batching import LMBatches


def test_fake_gz_file_names_the_file(tmp_path):
    path = tmp_path / "train.txt.gz"
    path.write_bytes(b"hello world\nnot compressed\n")
    with pytest.raises(CorpusFormatError, match=r"train.txt.gz:1: not a valid gzip file") as err:
        list(read_token_lines(path))
    assert err.value.path == path and err.value.line == 1
    with pytest.raises(CorpusFormatError, match=r"train.txt.gz:1: not a valid gzip file"):
        list(read_parallel(path, path))


def test_truncated_gz_file_names_the_file_and_the_line_reached(tmp_path):
    data = gzip.compress("".join(f"line {i}\n" for i in range(20000)).encode())
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorpusFormatError, match=r"cut.gz:\d+: not a valid gzip file") as err:
        list(read_lines(path))
    assert err.value.line > 1  # the lines before the cut were read


def test_gzip_data_under_a_plain_name_says_so(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(gzip.compress(b"hello\n"))
    with pytest.raises(CorpusFormatError, match=r"train.txt:1: invalid UTF-8 .*name it \*.gz"):
        list(read_lines(path))


@pytest.mark.parametrize("suffix", [".txt", ".txt.gz"])
def test_non_utf8_text_names_file_line_and_byte(tmp_path, suffix):
    data = "ok\nGrüße\n".encode("latin-1")
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    match = rf"latin1{suffix}:2: invalid UTF-8 \(invalid start byte at byte 3 of the line"
    with pytest.raises(CorpusFormatError, match=match):
        list(read_token_lines(path))


def _sst(tmp_path, label: str):
    path = tmp_path / "train.tsv"
    path.write_text(f"sentence\tlabel\ngood \t1\nodd \t{label}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "label,match",
    [
        ("-7", r"train.tsv:3: expected a label in \[0, 1\], got '-7'"),
        (str(10**20), r"train.tsv:3: expected a label in \[0, 1\], got '100000000000000000000'"),
        ("2", r"train.tsv:3: expected a label in \[0, 1\], got '2'"),
        ("1_0", r"train.tsv:3: expected an integer label, got '1_0'"),
        (" 1", r"train.tsv:3: expected an integer label, got ' 1'"),
        ("\u0661", r"train.tsv:3: expected an integer label, got '\u0661'"),  # Arabic-Indic 1
        ("", r"train.tsv:3: expected an integer label, got ''"),
        ("1.0", r"train.tsv:3: expected an integer label, got '1.0'"),
    ],
)
def test_sst2_labels_must_be_0_or_1(tmp_path, label, match):
    with pytest.raises(CorpusFormatError, match=match):
        list(read_labeled_sentences(_sst(tmp_path, label)))


def test_other_label_sets_on_request(tmp_path):
    path = _sst(tmp_path, "4")
    assert list(read_labeled_sentences(path, labels=range(5))) == [("good", 1), ("odd", 4)]
    assert list(read_labeled_sentences(_sst(tmp_path, "-7"), labels=None))[1] == ("odd", -7)


ROW = "\t".join(["x", "x", "NOUN", "NN", "_", "0", "root", "_", "_"])


@pytest.mark.parametrize(
    "line,match",
    [
        ("1\t\tx\tNOUN\tNN\t_\t0\troot\t_\t_", r"a.conllu:2: word 1: empty FORM \(column 2\)"),
        ("1\t \tx\tNOUN\tNN\t_\t0\troot\t_\t_", r"a.conllu:2: word 1: empty FORM"),
        ("1\tdog\tdog\t\tNN\t_\t0\troot\t_\t_", r"a.conllu:2: word 1: empty UPOS \(column 4\)"),
    ],
)
def test_empty_conllu_form_or_tag_is_an_error(tmp_path, line, match):
    path = tmp_path / "a.conllu"
    path.write_text(f"# sent_id = 1\n{line}\n\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=match):
        list(read_conllu(path))


def test_conllu_underscore_form_is_a_word(tmp_path):
    path = tmp_path / "a.conllu"
    path.write_text("1\t_\t_\tPUNCT\t_\t_\t0\troot\t_\t_\n", encoding="utf-8")
    assert [s.words for s in read_conllu(path)] == [["_"]]


def test_encode_batch_refuses_empty_texts_and_names_their_index():
    vocab = build_vocab(["the cat"])
    with pytest.raises(ValueError, match=r"texts at index 0, 2 have no tokens \(of 3 texts\)"):
        vocab.encode_batch(["", "the", "   "])
    with pytest.raises(TypeError, match=r"got one str"):
        vocab.encode_batch("the cat")
    ids, lengths = vocab.encode_batch(["", "the"], allow_empty=True)
    assert ids.tolist() == [[0], [2]] and lengths.tolist() == [0, 1]
    ids, lengths = build_vocab(["the"], eos=True).encode_batch(["", "the"], add_eos=True)
    assert lengths.tolist() == [1, 2] and ids.dtype == torch.long


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(batch_size=2.5), r"batch_size must be an integer >= 1, got float 2.5"),
        (dict(batch_size=0), r"batch_size must be >= 1, got 0"),
        (dict(bptt=3.5), r"bptt must be an integer >= 1, got float 3.5"),
        (dict(bptt=True), r"bptt must be an integer >= 1, got bool True"),
        (dict(random_bptt=True, min_bptt=0), r"min_bptt must be >= 1, got 0"),
        (dict(random_bptt=True, bptt_std=math.nan), r"bptt_std must be finite and >= 0, got nan"),
        (dict(random_bptt=True, bptt_std=-1.0), r"bptt_std must be finite and >= 0, got -1.0"),
    ],
)
def test_lm_batches_refuse_sizes_that_would_slice_wrongly(kwargs, match):
    args = {"batch_size": 4, "bptt": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        LMBatches(torch.arange(200), args.pop("batch_size"), args.pop("bptt"), **args)


def test_random_windows_are_never_empty():
    batches = LMBatches(torch.arange(400), 2, 10, random_bptt=True, bptt_std=40.0, min_bptt=1)
    lengths = batches.window_lengths(torch.Generator().manual_seed(0))
    assert min(lengths) >= 1 and sum(lengths) == 199


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(min_freq=True), r"min_freq must be an int >= 1, got True"),
        (dict(min_freq=1.5), r"min_freq must be an int >= 1, got 1.5"),
        (dict(max_size=False), r"max_size must be None or an int >= 0, got False"),
        (dict(max_size=-1), r"max_size must be None or an int >= 0, got -1"),
    ],
)
def test_vocabulary_sizes_are_integers_not_flags(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_vocab(["the cat"], **kwargs)


@pytest.mark.parametrize(
    "changes,match",
    [
        (dict(version=True), r"expected version 1, got True"),
        (dict(version=1.0), r"expected version 1, got 1.0"),
        (dict(extra=1), r"unknown keys \['extra'\]"),
        (dict(labels=[["a"]]), r"label 0 must be a non-empty string"),
        (dict(labels="ab"), r"'labels' must be a list, got str"),
        (dict(labels=[]), r"needs at least one label"),
    ],
)
def test_label_vocabulary_from_dict_refuses_type_confusion(changes, match):
    from rnnlab.text.labels import LabelVocabulary

    data = {**LabelVocabulary(["neg", "pos"]).to_dict(), **changes}
    with pytest.raises(ValueError, match=match):
        LabelVocabulary.from_dict(data)


def test_one_string_where_a_list_belongs_is_refused():
    from rnnlab.text import Vocabulary
    from rnnlab.text.padding import pad_ids

    with pytest.raises(TypeError, match=r"expected tokens as a list of str, got one str"):
        Vocabulary("the cat")
    with pytest.raises(TypeError, match=r"expected texts as a list, got one str 'the cat'"):
        build_vocab("the cat")
    with pytest.raises(TypeError, match=r"expected a sequence of id sequences, got one str"):
        pad_ids("abc")
    for pad_index in (2.5, True):
        with pytest.raises(TypeError, match=r"expected pad_index to be an int"):
            pad_ids([[1], [2, 3]], pad_index=pad_index)
    assert pad_ids([[1], [2, 3]], pad_index=-100)[0].tolist() == [[1, -100], [2, 3]]


@pytest.mark.parametrize(
    "args,match",
    [
        ((-1, 100, 10, 10), r"seed must be an integer >= 0 \(numpy's generators\), got -1"),
        ((0, 2.5, 10, 10), r"train_tokens must be an integer, got float 2.5"),
        ((0, 100, True, 10), r"valid_tokens must be an integer, got bool True"),
        ((0, 100, 10, -5), r"needs at least 1 token, got -5"),
    ],
)
def test_hmm_corpus_arguments(args, match):
    from rnnlab.text.hmm import hmm_corpus

    with pytest.raises(ValueError, match=match):
        hmm_corpus(*args)
