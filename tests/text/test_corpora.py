"""Corpus readers on small synthetic files: parsing, gzip, streaming, file:line errors."""

from __future__ import annotations

import gzip

import pytest

from rnnlab.text.corpora import (
    CorpusFormatError,
    TaggedSentence,
    read_conllu,
    read_labeled_sentences,
    read_lines,
    read_parallel,
    read_token_lines,
    read_tsv,
)


def _write(path, text: str, gz: bool = False):
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_read_lines_strips_only_line_endings(tmp_path):
    path = _write(tmp_path / "a.txt", " one \r\ntwo\n\nlast without newline")
    assert list(read_lines(path)) == [" one ", "two", "", "last without newline"]


def test_read_lines_reads_gzip_and_streams(tmp_path):
    path = _write(tmp_path / "a.txt.gz", "Grüße\nzwei\n", gz=True)
    lines = read_lines(path)
    assert next(lines) == "Grüße"  # a generator: nothing else read yet
    assert list(lines) == ["zwei"]


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nalso fine\nbad \xff byte\n")
    with pytest.raises(CorpusFormatError, match=r"bad.txt:3: invalid UTF-8") as info:
        list(read_lines(path))
    assert info.value.line == 3 and info.value.path == path


def test_read_token_lines_appends_eos_to_every_line(tmp_path):
    path = _write(tmp_path / "wiki.txt", " \n = Title = \n a @-@ b <unk> \n")
    assert list(read_token_lines(path)) == [
        ["<eos>"],
        ["=", "Title", "=", "<eos>"],
        ["a", "@-@", "b", "<unk>", "<eos>"],
    ]
    assert list(read_token_lines(path, eos=None))[0] == []


def test_read_tsv_and_labeled_sentences(tmp_path):
    path = _write(tmp_path / "dev.tsv", "sentence\tlabel\ngood film \t1\nbad \t0\n")
    assert list(read_tsv(path)) == [
        {"sentence": "good film ", "label": "1"},
        {"sentence": "bad ", "label": "0"},
    ]
    assert list(read_labeled_sentences(path)) == [("good film", 1), ("bad", 0)]
    test = _write(tmp_path / "test.tsv", "index\tsentence\n0\tsome text .\n")
    assert list(read_labeled_sentences(test, label_column=None)) == [("some text .", None)]


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("sentence\tlabel\nok\t1\nno tab here\n", {}, r"x.tsv:3: expected 2 tab-separated fields"),
        (
            "sentence\tlabel\nok\tpositive\n",
            {},
            r"x.tsv:2: expected an integer label, got 'positive'",
        ),
        (
            "index\tsentence\n0\tok\n",
            {},
            r"x.tsv:1: expected header columns \['sentence', 'label'\]",
        ),
        ("", {}, r"x.tsv:1: empty file; expected a header line"),
    ],
)
def test_tsv_errors(tmp_path, text, kwargs, message):
    path = _write(tmp_path / "x.tsv", text)
    with pytest.raises(CorpusFormatError, match=message):
        list(read_labeled_sentences(path, **kwargs))


CONLLU = """# sent_id = 1
# text = I didn't go.
1-2\tdidn't\t_\t_\t_\t_\t_\t_\t_\t_
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2\tdid\tdo\tAUX\tVBD\t_\t3\taux\t_\t_
2.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t_\t_
3\tgo\tgo\tVERB\tVB\t_\t0\troot\t_\t_

# sent_id = 2
1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_read_conllu_skips_comments_ranges_and_empty_nodes(tmp_path):
    path = _write(tmp_path / "a.conllu", CONLLU)  # no blank line after the last sentence
    assert list(read_conllu(path)) == [
        TaggedSentence(["I", "did", "go"], ["PRON", "AUX", "VERB"]),
        TaggedSentence(["Yes"], ["INTJ"]),
    ]


def test_read_conllu_errors_name_file_and_line(tmp_path):
    path = _write(tmp_path / "a.conllu", "# c\n1\tA\ta\tDET\n")
    with pytest.raises(CorpusFormatError, match=r"a.conllu:2: expected 10 tab-separated"):
        list(read_conllu(path))
    row = "\t".join(["x"] * 9)
    path = _write(tmp_path / "b.conllu", f"1\t{row}\n3\t{row}\n")
    with pytest.raises(CorpusFormatError, match=r"b.conllu:2: expected word id 2, got '3'"):
        list(read_conllu(path))


def test_read_parallel(tmp_path):
    en = _write(tmp_path / "t.en.gz", "A dog.\nTwo cats\n", gz=True)
    de = _write(tmp_path / "t.de.gz", "Ein Hund.\nZwei Katzen\n", gz=True)
    assert list(read_parallel(en, de)) == [("A dog.", "Ein Hund."), ("Two cats", "Zwei Katzen")]
    short = _write(tmp_path / "s.de.gz", "Ein Hund.\n", gz=True)
    with pytest.raises(CorpusFormatError, match=r"t.en.gz:2: parallel files differ in length: "):
        list(read_parallel(en, short))
    with pytest.raises(CorpusFormatError, match=r"s.de.gz ends after 1 lines"):
        list(read_parallel(short, en))
