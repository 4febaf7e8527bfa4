"""Many-to-one: a sequence in, one output (the sentiment of a sentence).

    "the film was not good"  ─▶ [BiLSTM over the words] ─▶ max+mean pooling ─▶ negative

The label depends on the whole sentence: "good" is positive, "not good" negative, and
"not bad" positive, so a bag of words cannot do it; the recurrent state must carry the
negation to the word it turns. The sentences come from a small grammar (below); the model
is rnnlab's ``SequenceClassifier``, trained with the shared ``Trainer``.
"""

from __future__ import annotations

import random

import torch

from rnnlab.models.classifier import ClassifierConfig, SequenceClassifier
from rnnlab.text.classification_data import collate_classify
from rnnlab.text.vocab import build_vocab
from rnnlab.training import TrainConfig, Trainer

SUBJECTS = ["the film", "this movie", "the plot", "the acting", "the ending", "it"]
VERBS = ["was", "is", "seemed", "felt"]
POSITIVE = ["good", "great", "funny", "moving", "gripping", "clever"]
NEGATIVE = ["bad", "dull", "boring", "awful", "weak", "silly"]
ADVERBS = ["", "really ", "very ", "quite "]


def sentence(rng: random.Random) -> tuple[str, int]:
    """One sentence and its label (1 = positive): negation flips the adjective."""
    positive = rng.random() < 0.5
    negated = rng.random() < 0.5
    adjective = rng.choice(POSITIVE if positive else NEGATIVE)
    text = (f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {'not ' if negated else ''}"
            f"{rng.choice(ADVERBS)}{adjective}")  # fmt: skip
    return text, int(positive != negated)


def run(seed: int = 0, epochs: int = 4, verbose: bool = True) -> dict[str, float]:
    """Train on 1,000 generated sentences; returns the accuracy on 300 new ones."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    train, test = [sentence(rng) for _ in range(1000)], [sentence(rng) for _ in range(300)]
    vocab = build_vocab(t for t, _ in train)

    def batches(rows, size):
        encoded = [(vocab.encode(t), y) for t, y in rows]
        return [collate_classify(encoded[i : i + size]) for i in range(0, len(encoded), size)]

    cfg = ClassifierConfig(vocab_size=len(vocab), num_classes=2, embed_dim=16, hidden_size=24,
                           pooling="max+mean", dropout=0.1)  # fmt: skip
    model = SequenceClassifier(cfg)
    train_cfg = TrainConfig(optimizer="adam", lr=0.01, epochs=epochs, progress=False, seed=seed)
    Trainer(model, train_cfg).fit(batches(train, 32))
    test_batch = batches(test, len(test))[0]
    probs = model.predict_proba(test_batch.ids, test_batch.lengths)  # (N, 2)
    accuracy = float((probs.argmax(-1) == test_batch.labels).float().mean())
    if verbose:
        print("many-to-one: the sentiment of a sentence (BiLSTM, max+mean pooling)")
        for (text, label), p in list(zip(test, probs.tolist()))[:6]:
            guess = int(p[1] > 0.5)
            print(f"  {text!r:42} truth {'pos' if label else 'neg'}  "
                  f"predicted {'pos' if guess else 'neg'} (p={max(p):.2f})")  # fmt: skip
        print(f"  accuracy on 300 new sentences: {accuracy:.1%}")
    return {"accuracy": accuracy}
