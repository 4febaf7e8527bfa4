"""LabelVocabulary: no specials, sorted ids, unknown labels are errors, exact JSON round trip."""

import json

import pytest

from rnnlab.text import LabelVocabulary, UnknownLabelError


def test_sorted_ids_and_no_specials():
    labels = LabelVocabulary.from_labels(["pos", "neg", "pos", "neutral"])
    assert labels.labels == ["neg", "neutral", "pos"]
    assert len(labels) == 3
    assert [labels.encode(x) for x in ("neg", "neutral", "pos")] == [0, 1, 2]
    assert labels.decode(2) == "pos"
    assert "<PAD>" not in labels and "<UNK>" not in labels


def test_first_occurrence_order():
    assert LabelVocabulary.from_labels(["b", "a", "b"], sort=False).labels == ["b", "a"]


def test_unknown_label_names_it_and_the_set():
    labels = LabelVocabulary(["0", "1"])
    with pytest.raises(UnknownLabelError, match=r"unknown label '7'.*2 labels \(0, 1\)"):
        labels.encode("7")
    with pytest.raises(IndexError, match="out of range for 2 labels"):
        labels.decode(2)


def test_round_trip_and_malformed():
    labels = LabelVocabulary(["NOUN", "VERB", "ADJ"])
    again = LabelVocabulary.from_dict(json.loads(json.dumps(labels.to_dict())))
    assert again == labels and again.labels == ["NOUN", "VERB", "ADJ"]
    for bad, msg in [
        ([], "JSON object"),
        ({"format": "x", "version": 1, "labels": []}, "format"),
        ({"format": "rnnlab-labels", "version": 1, "labels": ["a", "a"]}, "duplicate"),
        ({"format": "rnnlab-labels", "version": 1, "labels": []}, "at least one"),
        ({"format": "rnnlab-labels", "version": 1, "labels": [3]}, "non-empty string"),
    ]:
        with pytest.raises(ValueError, match=msg):
            LabelVocabulary.from_dict(bad)
