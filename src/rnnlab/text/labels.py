"""LabelVocabulary: the closed set of output labels (classes, tags) of a task.

Unlike :class:`rnnlab.text.vocab.Vocabulary` it has no ``<PAD>`` and no ``<UNK>``: every id
is a real label, so ``len(labels)`` is the number of classes C, and a label that was not seen
in training is an error (naming the label and the known ones), never a silent ``<UNK>``.

Order is deterministic: ``from_labels`` sorts the distinct labels (so "0" < "1", "ADJ" <
"NOUN"); pass ``sort=False`` to keep first-occurrence order.

    >>> labels = LabelVocabulary.from_labels(["pos", "neg", "pos"])
    >>> labels.labels, labels.encode("pos"), labels.decode(0)
    (['neg', 'pos'], 1, 'neg')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

FORMAT = "rnnlab-labels"
VERSION = 1


class UnknownLabelError(KeyError):
    """A label outside the label set; the message names it and the known labels."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class LabelVocabulary:
    """Label <-> id mapping over a fixed label set (ids 0..C-1, no specials).

    Arguments:
        labels: the distinct labels in id order (non-empty strings, no repeats).
    """

    def __init__(self, labels: Sequence[str]) -> None:
        labels = list(labels)
        if not labels:
            raise ValueError("a label vocabulary needs at least one label, got none")
        for i, label in enumerate(labels):
            if not isinstance(label, str) or not label:
                raise ValueError(f"label {i} must be a non-empty string, got {label!r}")
        if len(set(labels)) != len(labels):
            dupes = sorted({x for x in labels if labels.count(x) > 1})
            raise ValueError(f"duplicate labels {dupes[:5]}")
        self.labels = labels
        self._index = {label: i for i, label in enumerate(labels)}

    @classmethod
    def from_labels(cls, labels: Iterable[str], *, sort: bool = True) -> LabelVocabulary:
        """The distinct labels of ``labels`` (sorted, or in first-occurrence order)."""
        distinct = list(dict.fromkeys(str(x) for x in labels))
        return cls(sorted(distinct) if sort else distinct)

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelVocabulary) and self.labels == other.labels

    def __repr__(self) -> str:
        shown = ", ".join(self.labels[:8]) + (", ..." if len(self) > 8 else "")
        return f"LabelVocabulary({len(self)} labels: {shown})"

    def encode(self, label: str) -> int:
        """The id of ``label``; UnknownLabelError if it is not in the set."""
        try:
            return self._index[label]
        except (KeyError, TypeError):
            known = ", ".join(self.labels[:20]) + (", ..." if len(self) > 20 else "")
            raise UnknownLabelError(
                f"unknown label {label!r}: the label set has {len(self)} labels ({known})"
            ) from None

    def encode_many(self, labels: Iterable[str]) -> list[int]:
        return [self.encode(x) for x in labels]

    def decode(self, index: int) -> str:
        if not isinstance(index, int) or not 0 <= index < len(self):
            raise IndexError(f"label id {index!r} is out of range for {len(self)} labels")
        return self.labels[index]

    # ---- serialisation ---------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, data: object) -> LabelVocabulary:
        """Inverse of ``to_dict``; ValueError saying what is wrong with malformed input."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise ValueError(f"expected format {FORMAT!r}, got {data.get('format')!r}")
        version = data.get("version")
        if type(version) is not int or version != VERSION:  # not true, not 1.0
            raise ValueError(f"expected version {VERSION}, got {version!r}")
        unknown = sorted(set(data) - {"format", "version", "labels"})
        if unknown:
            raise ValueError(f"unknown keys {unknown[:5]}; expected format, version, labels")
        labels = data.get("labels")
        if not isinstance(labels, list):
            raise ValueError(f"'labels' must be a list, got {type(labels).__name__}")
        return cls(labels)
