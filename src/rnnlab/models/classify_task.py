"""The sentence-classification task: run config, data preparation, evaluation, prediction.

    TSV / sst2 --load_classification--> texts --vocabs--> BucketedBatches(ClassifyBatch)
        --Trainer--> SequenceClassifier --evaluate_classifier--> accuracy, macro-F1,
        per-class P/R/F1, confusion matrix (+ PNG); --predict_texts--> label + probability

``rnnlab train classify`` runs it through the shared run plumbing; the functions here are
the task's own parts and are usable on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rnnlab.models.classifier import ClassifierConfig, SequenceClassifier
from rnnlab.text import classification_data as cd
from rnnlab.training.classification_metrics import (
    classification_scores,
    confusion_matrix,
    flat_scores,
    format_scores,
)
from rnnlab.training.config import TrainConfig


@dataclass(frozen=True)
class ClassifyDataConfig:
    """The ``[data]`` section of a classification run.

    Attributes:
        dataset: "sst2" or "tsv:PATH" (a file, or a folder with train.tsv / dev.tsv).
        text_column, label_column: the TSV columns (by header name).
        batch_size: B for training; eval_batch_size: for validation and test.
        min_freq: words seen fewer times in train map to <UNK>; max_vocab: cap (None = all).
        max_train: use only the first N training examples (smoke runs; None = all).
        embeddings: a word2vec / GloVe text file to initialise the embedding ("" = none).
        init_from: an rnnlab language-model checkpoint to start the encoder from ("" = none).
    """

    dataset: str = "sst2"
    text_column: str = "sentence"
    label_column: str = "label"
    batch_size: int = 64
    eval_batch_size: int = 256
    min_freq: int = 1
    max_vocab: int | None = None
    max_train: int | None = None
    embeddings: str = ""
    init_from: str = ""


@dataclass(frozen=True)
class ClassifyRunConfig:
    """A classification run: ``task = "classify"``, ``[data]``, ``[model]``, ``[train]``."""

    task: str = "classify"
    data: ClassifyDataConfig = field(default_factory=ClassifyDataConfig)
    model: ClassifierConfig = field(default_factory=ClassifierConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            optimizer="adam", lr=1e-3, epochs=4, monitor="accuracy", monitor_mode="max"
        )
    )


@dataclass
class ClassifyData:
    """What ``prepare_classification`` returns (the shape of ``runs.Prepared``)."""

    cfg: ClassifyRunConfig
    vocabs: dict[str, Any]
    data: dict[str, cd.BucketedBatches]
    info: dict[str, float]


def prepare_classification(
    cfg: ClassifyRunConfig, *, data_dir=None, vocabs=None, splits=None
) -> ClassifyData:
    """Load the splits, build (or reuse) the vocabularies and the batches; fill the model
    config's ``vocab_size`` / ``num_classes`` from the vocabularies."""
    d = cfg.data
    wanted = None
    if splits is not None:
        wanted = sorted(set(splits) | ({"train"} if vocabs is None else set()))
    texts = cd.load_classification(
        d.dataset, data_dir, wanted, text_column=d.text_column, label_column=d.label_column
    )
    if "train" in texts and d.max_train is not None:
        texts["train"] = texts["train"][: d.max_train]
    if vocabs is None:
        vocabs = cd.build_classification_vocabs(
            texts["train"], min_freq=d.min_freq, max_size=d.max_vocab
        )
    data, info = {}, {}
    for split, rows in texts.items():
        if splits is not None and split not in splits:
            continue
        train = split == "train"
        encoded = cd.encode_classification(rows, vocabs)
        batches = cd.classification_batches(
            encoded, d.batch_size if train else d.eval_batch_size, shuffle=train,
            seed=cfg.train.seed,
        )  # fmt: skip
        data[split] = batches
        info[f"{split}_examples"] = float(batches.num_examples)
        info[f"{split}_padding_fraction"] = batches.padding_fraction
        unk = sum(ids.count(vocabs["words"].unk_index) for ids, _ in encoded)
        info[f"{split}_oov_rate"] = unk / max(1, sum(len(ids) for ids, _ in encoded))
    model = cfg.model.replace(vocab_size=len(vocabs["words"]), num_classes=len(vocabs["labels"]))
    cfg = ClassifyRunConfig(task=cfg.task, data=cfg.data, model=model, train=cfg.train)
    return ClassifyData(cfg, vocabs, data, info)


def build_classifier(prepared: ClassifyData) -> tuple[SequenceClassifier, dict[str, float]]:
    """The model for a prepared run, with ``--embeddings`` / ``--init-from`` applied."""
    from rnnlab.models.pretrained import init_from_language_model, load_word_vectors

    cfg = prepared.cfg
    model = SequenceClassifier(cfg.model)
    info: dict[str, float] = {}
    words = prepared.vocabs["words"]
    if cfg.data.init_from:
        info.update(init_from_language_model(model.encoder, words, cfg.data.init_from))
    if cfg.data.embeddings:
        info.update(load_word_vectors(cfg.data.embeddings, words, model.encoder.embedding))
    return model, info


@torch.no_grad()
def predictions(model: SequenceClassifier, data) -> tuple[torch.Tensor, torch.Tensor]:
    """True and predicted class ids over a dataset, in its batch order: (N,), (N,)."""
    device = next(model.parameters()).device
    truth, guess = [], []
    for batch in data:
        probs = model.predict_proba(batch.ids.to(device), batch.lengths)  # (B, C)
        truth.append(batch.labels)
        guess.append(probs.argmax(-1).cpu())
    return torch.cat(truth), torch.cat(guess)


def evaluate_classifier(
    model: SequenceClassifier, data, vocabs: dict, *, prefix: str = "", out_dir=None
) -> tuple[dict[str, float], str]:
    """Flat metrics (accuracy, macro_f1, precision/recall/f1 per class) and a text report;
    with ``out_dir`` also writes ``confusion_<prefix>.png``."""
    names = vocabs["labels"].labels
    truth, guess = predictions(model, data)
    if (truth < 0).any():
        raise ValueError("evaluation data has examples without a label")
    confusion = confusion_matrix(truth, guess, len(names))
    scores = classification_scores(confusion, names)
    if out_dir is not None:
        from rnnlab.plotting.confusion import plot_confusion

        split = prefix.rstrip("_") or "eval"
        plot_confusion(confusion, names, Path(out_dir) / f"confusion_{split}.png", title=split)
    return flat_scores(scores, prefix), format_scores(scores, confusion)


@torch.no_grad()
def predict_texts(model: SequenceClassifier, vocabs: dict, texts: list[str]) -> list[dict]:
    """``[{"text", "label", "probability", "probabilities": {label: p}}]`` per text.

    An empty text is a ValueError naming its position (``line N``).
    """
    words, labels = vocabs["words"], vocabs["labels"]
    encoded = [(cd.encode_text(t, words, f"line {i + 1}"), -1) for i, t in enumerate(texts)]
    out = []
    for start in range(0, len(encoded), 256):
        batch = cd.collate_classify(encoded[start : start + 256])
        probs = model.predict_proba(batch.ids, batch.lengths)  # (B, C)
        for text, p in zip(texts[start : start + 256], probs.tolist()):
            best = max(range(len(p)), key=p.__getitem__)
            out.append({
                "text": text, "label": labels.decode(best), "probability": p[best],
                "probabilities": {labels.decode(k): v for k, v in enumerate(p)},
            })  # fmt: skip
    return out
