"""The sentence-classification task: run config, data preparation, evaluation, prediction.

    TSV / sst2 --load_classification--> texts --vocabs--> BucketedBatches(ClassifyBatch)
        --Trainer--> SequenceClassifier --evaluate_classifier--> accuracy, macro-F1,
        per-class P/R/F1, confusion matrix (+ PNG); --predict_texts--> label + probability

``rnnlab train classify`` runs it through the shared run plumbing; the functions here are
the task's own parts and are usable on their own.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
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
from rnnlab.training.runs import Prepared, Task, register_task


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


def prepare_classification(
    cfg: ClassifyRunConfig, *, data_dir=None, vocabs=None, splits=None
) -> Prepared:
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
    fingerprint = None
    if "train" in data:
        digest = hashlib.sha256()
        for ids, label in data["train"].examples:
            digest.update(f"{label}:{','.join(map(str, ids))};".encode())
        fingerprint = digest.hexdigest()
    return Prepared(dataclasses.replace(cfg, model=model), vocabs, data, info, fingerprint)


def build_classifier(cfg: ClassifyRunConfig, words) -> tuple[SequenceClassifier, dict[str, float]]:
    """The model for a prepared run config, with ``data.embeddings`` / ``data.init_from``
    applied (``words``: the vocabulary); returns it and the coverage statistics."""
    from rnnlab.models.pretrained import init_from_language_model, load_word_vectors

    model = SequenceClassifier(cfg.model)
    info: dict[str, float] = {}
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
    model: SequenceClassifier, data, vocabs: dict, *, prefix: str = "", out_dir=None, split="eval"
) -> tuple[dict[str, float], str]:
    """Flat metrics (accuracy, macro_f1, precision/recall/f1 per class) and a text report;
    with ``out_dir`` also writes ``confusion_<split>.png``."""
    names = vocabs["labels"].labels
    truth, guess = predictions(model, data)
    if (truth < 0).any():
        raise ValueError("evaluation data has examples without a label")
    confusion = confusion_matrix(truth, guess, len(names))
    scores = classification_scores(confusion, names)
    if out_dir is not None:
        from rnnlab.plotting.confusion import plot_confusion

        plot_confusion(confusion, names, Path(out_dir) / f"confusion_{split}.png", title=split)
    return flat_scores(scores, prefix, confusion), format_scores(scores, confusion)


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


@register_task
class ClassifyTask(Task):
    """Sentence classification (many-to-one): accuracy, macro-F1, per-class P/R/F1."""

    name = "classify"
    config_class = ClassifyRunConfig
    unit = "sentences"
    help = "train a sentence classifier (SST-2 or any TSV)"
    flags = {
        "dataset": "data.dataset", "text_column": "data.text_column",
        "label_column": "data.label_column", "batch_size": "data.batch_size",
        "embeddings": "data.embeddings", "init_from": "data.init_from", "cell": "model.cell",
        "layers": "model.num_layers", "hidden": "model.hidden_size", "embed": "model.embed_dim",
        "pooling": "model.pooling", "dropout": "model.dropout",
    }  # fmt: skip
    derived_keys = ("model.vocab_size", "model.num_classes")

    def add_arguments(self, p) -> None:
        p.add_argument("--dataset", help="sst2 or tsv:PATH (a TSV file or a folder)")
        p.add_argument("--text-column", help="TSV column holding the text (default sentence)")
        p.add_argument("--label-column", help="TSV column holding the label (default label)")
        p.add_argument("--embeddings", help="word2vec / GloVe text file for the embedding")
        p.add_argument("--init-from", help="start from this rnnlab language-model checkpoint")
        p.add_argument("--cell", choices=["lstm", "gru", "rnn", "rnn_relu"])
        p.add_argument("--layers", type=int, help="number of recurrent layers")
        p.add_argument("--hidden", type=int, help="hidden units per direction")
        p.add_argument("--embed", type=int, help="embedding size")
        p.add_argument("--pooling", help="last, mean, max or a combination like max+mean")
        p.add_argument("--dropout", type=float)
        p.add_argument("--batch-size", type=int)

    def default_config(self, overrides: Sequence[str]) -> str:
        return "sst2-bilstm"

    def finalize_config(self, cfg: ClassifyRunConfig) -> ClassifyRunConfig:
        """Paths (``tsv:``, embeddings, init_from) become absolute."""
        d = cfg.data
        changes = {}
        if d.dataset.startswith("tsv:"):
            changes["dataset"] = f"tsv:{Path(d.dataset[4:]).expanduser().resolve()}"
        for key in ("embeddings", "init_from"):
            if getattr(d, key):
                changes[key] = str(Path(getattr(d, key)).expanduser().resolve())
        return dataclasses.replace(cfg, data=dataclasses.replace(d, **changes))

    def prepare(self, cfg, *, data_dir, vocabs=None, splits=("train", "valid", "test")):
        return prepare_classification(cfg, data_dir=data_dir, vocabs=vocabs, splits=splits)

    def build_model(self, cfg: ClassifyRunConfig, prepared: Prepared | None = None):
        """The classifier; with --embeddings / --init-from its words are mapped through
        ``prepared``'s vocabulary and the coverage is added to ``prepared.info``."""
        if not (cfg.data.init_from or cfg.data.embeddings):
            return SequenceClassifier(cfg.model)
        if prepared is None or prepared.cfg.model != cfg.model:
            raise ValueError("--embeddings / --init-from need the run's vocabulary (prepared)")
        model, info = build_classifier(cfg, prepared.vocabs["words"])
        prepared.info.update(info)
        return model

    def describe(self, prepared: Prepared, model) -> str:
        i, m = prepared.info, prepared.cfg.model
        params = sum(p.numel() for p in model.parameters()) if model is not None else 0
        return (f"data {prepared.cfg.data.dataset}: {i.get('train_examples', 0):,.0f} train "
                f"sentences, vocabulary {m.vocab_size:,}, {m.num_classes} classes, padding "
                f"{i.get('train_padding_fraction', 0):.1%}; model {m.cell} {m.num_layers}x"
                f"{m.hidden_size}{' bi' if m.bidirectional else ''}, pooling {m.pooling}, "
                f"{params:,} parameters" + "".join(
                    f", {k} {v:.3g}" for k, v in i.items() if k.startswith(("embeddings", "init"))
                ))  # fmt: skip

    def evaluate(self, model, data, prepared, *, out_dir=None) -> dict[str, Any]:
        from rnnlab.training.evaluation import evaluate

        loss = evaluate(model, data)["loss"]
        split = next((k for k, v in prepared.data.items() if v is data), "eval")
        metrics, _ = evaluate_classifier(model, data, prepared.vocabs, out_dir=out_dir, split=split)
        return {"loss": loss, **metrics}

    def text_data(self, cfg, vocabs, path: Path):
        d = cfg.data
        rows = cd.read_labeled_tsv(path, d.text_column, d.label_column)
        return cd.classification_batches(cd.encode_classification(rows, vocabs), d.eval_batch_size)

    def summary_line(self, split: str, metrics: dict[str, Any]) -> str:
        from rnnlab.training.classification_metrics import scores_from_flat

        scores, confusion = scores_from_flat(metrics, f"{split}_")
        return f"{split}:\n" + format_scores(scores, confusion)
