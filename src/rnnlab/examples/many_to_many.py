"""Many-to-many (aligned): a sequence in, one output per step (a tag for every word).

    the   dogs  run   fast        x_1 .. x_4
     │     │     │     │
    [BiLSTM: every step sees the words on both sides]
     ▼     ▼     ▼     ▼
    DET   NOUN  VERB  ADV         y_1 .. y_4

Some words are ambiguous: "run", "walks", "play" are nouns after a determiner ("the run")
and verbs after a noun ("dogs run"), so a tagger that looks at one word at a time cannot
be right; the context read by the recurrent layer can. The model is rnnlab's
``SequenceTagger`` (word embeddings + BiLSTM), trained with the shared ``Trainer``.
"""

from __future__ import annotations

import random

import torch

from rnnlab.models.tagger import SequenceTagger, TaggerConfig
from rnnlab.text.labels import LabelVocabulary
from rnnlab.text.tagging_data import TaggedExample, collate_tags
from rnnlab.text.vocab import build_vocab
from rnnlab.training import TrainConfig, Trainer

LEXICON = {
    "DET": ["the", "a", "every", "some"],
    "ADJ": ["big", "small", "happy", "old"],
    "NOUN": ["dogs", "cats", "kids", "birds"],
    "AMBIG": ["run", "walks", "play", "swim"],
    "ADV": ["fast", "slowly", "today", "again"],
}


def sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    """DET (ADJ) NOUN|AMBIG VERB=AMBIG (ADV): an ambiguous word's tag depends on its place."""
    words, tags = [rng.choice(LEXICON["DET"])], ["DET"]
    if rng.random() < 0.5:
        words.append(rng.choice(LEXICON["ADJ"]))
        tags.append("ADJ")
    words.append(rng.choice(LEXICON["NOUN"] + LEXICON["AMBIG"]))
    tags.append("NOUN")  # after a determiner: a noun, even "the run"
    words.append(rng.choice(LEXICON["AMBIG"]))
    tags.append("VERB")  # after the subject: a verb
    if rng.random() < 0.6:
        words.append(rng.choice(LEXICON["ADV"]))
        tags.append("ADV")
    return words, tags


def run(seed: int = 0, epochs: int = 3, verbose: bool = True) -> dict[str, float]:
    """Train on 600 generated sentences; returns the token accuracy on 200 new ones and the
    accuracy on the ambiguous words alone."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    train, test = [sentence(rng) for _ in range(600)], [sentence(rng) for _ in range(200)]
    vocab = build_vocab(w for w, _ in train)
    tag_set = LabelVocabulary.from_labels(t for _, tags in train for t in tags)

    def batches(rows, size):
        encoded = [TaggedExample(vocab.encode(w), tag_set.encode_many(t), [[1]] * len(w))
                   for w, t in rows]  # fmt: skip
        return [collate_tags(encoded[i : i + size]) for i in range(0, len(encoded), size)]

    cfg = TaggerConfig(vocab_size=len(vocab), num_chars=2, num_tags=len(tag_set), embed_dim=16,
                       hidden_size=24, char_features=False, dropout=0.1, dropout_input=0.0,
                       word_dropout=0.0)  # fmt: skip
    model = SequenceTagger(cfg)
    train_cfg = TrainConfig(optimizer="adam", lr=0.01, epochs=epochs, progress=False, seed=seed)
    Trainer(model, train_cfg).fit(batches(train, 16))
    b = batches(test, len(test))[0]
    tags, _ = model.predict(b.ids, b.lengths)  # (N, T)
    real = b.tags >= 0
    accuracy = float((tags == b.tags)[real].float().mean())
    ambiguous = torch.tensor([[w in LEXICON["AMBIG"] for w in words] + [False] * (
        b.ids.shape[1] - len(words)) for words, _ in test])  # fmt: skip
    ambiguous_accuracy = float((tags == b.tags)[ambiguous].float().mean())
    if verbose:
        print("many-to-many: a tag for every word (BiLSTM tagger)")
        for k, (words, truth) in enumerate(test[:4]):
            guess = [tag_set.decode(t) for t in tags[k, : len(words)].tolist()]
            print("  " + " ".join(f"{w}/{g}" + ("" if g == t else f"(truth {t})")
                                  for w, g, t in zip(words, guess, truth)))  # fmt: skip
        print(f"  token accuracy on 200 new sentences: {accuracy:.1%}; "
              f"on the ambiguous words alone: {ambiguous_accuracy:.1%}")  # fmt: skip
    return {"accuracy": accuracy, "ambiguous_accuracy": ambiguous_accuracy}
