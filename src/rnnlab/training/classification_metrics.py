"""Scores of a classifier or tagger: confusion matrix, per-class precision / recall / F1.

    confusion[i, j] = how many items of true class i were predicted as class j

    precision_c = confusion[c, c] / (column c sum)   (of what was called c, how much was c)
    recall_c    = confusion[c, c] / (row c sum)      (of what was c, how much was found)
    F1_c        = 2 P R / (P + R);   macro-F1 = mean of F1_c over the classes

A class that never occurs and is never predicted has no defined score and is left out of
the macro average (``support`` 0 and nothing predicted); 0/0 otherwise counts as 0.

    >>> m = confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], num_classes=2)
    >>> m.tolist()
    [[1, 1], [0, 2]]
    >>> round(classification_scores(m, ["neg", "pos"])["macro_f1"], 4)
    0.7333
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def confusion_matrix(truth, predicted, num_classes: int) -> Tensor:
    """Counts (C, C) from true and predicted class ids (same length; ids in 0..C-1)."""
    truth = torch.as_tensor(truth, dtype=torch.long).reshape(-1)
    predicted = torch.as_tensor(predicted, dtype=torch.long).reshape(-1)
    if truth.shape != predicted.shape:
        raise ValueError(
            f"expected as many predictions as labels, got {predicted.numel()} and {truth.numel()}"
        )
    for name, ids in (("label", truth), ("prediction", predicted)):
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_classes):
            raise ValueError(f"{name} ids must be in 0..{num_classes - 1}")
    flat = truth * num_classes + predicted  # (N,)
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def classification_scores(confusion: Tensor, names: Sequence[str]) -> dict:
    """Accuracy, macro-F1 and ``per_class`` {name: {precision, recall, f1, support}}."""
    c = confusion.to(torch.float64)
    if c.shape != (len(names), len(names)):
        C = len(names)
        raise ValueError(f"expected a ({C}, {C}) confusion matrix, got {tuple(c.shape)}")
    hits, support, called = c.diagonal(), c.sum(1), c.sum(0)
    per_class, f1s = {}, []
    for k, name in enumerate(names):
        p = float(hits[k] / called[k]) if called[k] else 0.0
        r = float(hits[k] / support[k]) if support[k] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        per_class[name] = {"precision": p, "recall": r, "f1": f, "support": int(support[k])}
        if support[k] or called[k]:
            f1s.append(f)
    total = float(c.sum())
    return {
        "accuracy": float(hits.sum()) / total if total else 0.0,
        "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
        "per_class": per_class,
    }


def flat_scores(scores: dict, prefix: str = "", confusion: Tensor | None = None) -> dict:
    """``{prefix + "accuracy", prefix + "macro_f1", prefix + "f1_<class>", ...}`` for JSON;
    with ``confusion`` also ``prefix + "confusion_<true>_<predicted>"`` counts."""
    out = {f"{prefix}accuracy": scores["accuracy"], f"{prefix}macro_f1": scores["macro_f1"]}
    for name, s in scores["per_class"].items():
        for key in ("precision", "recall", "f1", "support"):
            out[f"{prefix}{key}_{name}"] = s[key]
    if confusion is not None:
        names = list(scores["per_class"])
        for i, row in enumerate(confusion.tolist()):
            for j, count in enumerate(row):
                out[f"{prefix}confusion_{names[i]}_{names[j]}"] = int(count)
    return out


def scores_from_flat(metrics: dict, prefix: str = "") -> tuple[dict, Tensor | None]:
    """Inverse of ``flat_scores``: the scores dict and the confusion matrix (or None)."""
    names = [k[len(prefix) + 8 :] for k in metrics if k.startswith(f"{prefix}support_")]
    per_class = {
        n: {key: metrics[f"{prefix}{key}_{n}"] for key in ("precision", "recall", "f1", "support")}
        for n in names
    }
    scores = {"accuracy": metrics[f"{prefix}accuracy"], "macro_f1": metrics[f"{prefix}macro_f1"],
              "per_class": per_class}  # fmt: skip
    keys = [[f"{prefix}confusion_{a}_{b}" for b in names] for a in names]
    if not names or any(k not in metrics for row in keys for k in row):
        return scores, None
    return scores, torch.tensor([[int(metrics[k]) for k in row] for row in keys])


def format_scores(scores: dict, confusion: Tensor | None = None) -> str:
    """A plain-text report: per-class table, then the confusion matrix (rows = truth)."""
    names = list(scores["per_class"])
    width = max(8, *(len(n) for n in names))
    lines = [f"{'class':<{width}}  precision  recall     f1  support"]
    for name, s in scores["per_class"].items():
        lines.append(
            f"{name:<{width}}  {s['precision']:9.4f}  {s['recall']:6.4f}  {s['f1']:.4f}"
            f"  {s['support']:7d}"
        )
    lines.append(f"accuracy {scores['accuracy']:.4f}   macro-F1 {scores['macro_f1']:.4f}")
    if confusion is not None and len(names) <= 20:
        lines.append("confusion matrix (rows: truth, columns: predicted)")
        cell = max(6, *(len(n) for n in names)) + 1
        lines.append(" " * width + "".join(f"{n:>{cell}}" for n in names))
        for name, row in zip(names, confusion.tolist()):
            lines.append(f"{name:<{width}}" + "".join(f"{v:>{cell}}" for v in row))
    return "\n".join(lines)
