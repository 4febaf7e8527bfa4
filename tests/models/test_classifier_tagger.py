"""SequenceClassifier and SequenceTagger: padding never matters, and they learn tiny tasks."""

from __future__ import annotations

import pytest
import torch

from rnnlab.models import ClassifierConfig, SequenceClassifier, SequenceTagger, TaggerConfig
from rnnlab.text.classification_data import collate_classify
from rnnlab.text.tagging_data import TaggedExample, collate_tags
from rnnlab.training import StepOutput, build_model


def _sentences(n=5, vocab=20, seed=0):
    gen = torch.Generator().manual_seed(seed)
    lengths = [7, 1, 4, 7, 2][:n]
    return [torch.randint(2, vocab, (t,), generator=gen).tolist() for t in lengths]


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "max+mean+last"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_classifier_sentence_alone_equals_inside_a_padded_batch(pooling, cell):
    torch.manual_seed(0)
    cfg = ClassifierConfig(vocab_size=20, num_classes=3, cell=cell, embed_dim=8,
                           hidden_size=6, num_layers=2, pooling=pooling, mlp_hidden=5)  # fmt: skip
    model = SequenceClassifier(cfg).double()
    batch = collate_classify([(s, 0) for s in _sentences()])
    together = model.predict_proba(batch.ids, batch.lengths)  # (B, C)
    for b, sentence in enumerate(_sentences()):
        alone = collate_classify([(sentence, 0)])
        probs = model.predict_proba(alone.ids, alone.lengths)  # (1, C)
        assert torch.allclose(probs[0], together[b], atol=1e-6, rtol=0)
        assert int(probs.argmax()) == int(together[b].argmax())


def _tag_examples():
    return [TaggedExample(s, [0] * len(s), [[(w % 5) + 2] * ((w % 4) + 1) for w in s])
            for s in _sentences()]  # fmt: skip


@pytest.mark.parametrize("crf", [False, True])
@pytest.mark.parametrize("chars", [False, True])
def test_tagger_sentence_alone_equals_inside_a_padded_batch(crf, chars):
    torch.manual_seed(0)
    cfg = TaggerConfig(vocab_size=20, num_chars=8, num_tags=4, embed_dim=8, hidden_size=6,
                       char_features=chars, char_dim=4, char_hidden=3, crf=crf)  # fmt: skip
    model = SequenceTagger(cfg).double()
    batch = collate_tags(_tag_examples())
    tags, probs = model.predict(batch.ids, batch.lengths, batch.chars, batch.char_lengths)
    for b, example in enumerate(_tag_examples()):
        one = collate_tags([example])
        t1, p1 = model.predict(one.ids, one.lengths, one.chars, one.char_lengths)
        n = len(example.ids)
        assert torch.allclose(p1[0], probs[b, :n], atol=1e-6, rtol=0)
        assert t1[0].tolist() == tags[b, :n].tolist()
        assert (tags[b, n:] == -1).all()


def _fit(model, batches, steps, lr=0.05):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        for batch in batches:
            out = model.step(batch, None)
            assert isinstance(out, StepOutput)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        outs = [model.step(b, None) for b in batches]
    correct = sum(o.sums["correct"] for o in outs)
    return correct / sum(o.count for o in outs)


def test_classifier_learns_which_word_decides_the_class():
    torch.manual_seed(0)
    sentences = _sentences(5) * 8
    examples = [(s[:-1] + [2 + i % 2], i % 2) for i, s in enumerate(sentences)]  # last word
    batches = [collate_classify(examples[i : i + 8]) for i in range(0, 40, 8)]
    cfg = ClassifierConfig(vocab_size=20, num_classes=2, embed_dim=8, hidden_size=8,
                           pooling="last", dropout=0.0)  # fmt: skip
    assert _fit(SequenceClassifier(cfg), batches, 15) == 1.0


@pytest.mark.parametrize("crf", [False, True])
def test_tagger_learns_a_tag_that_depends_on_the_previous_word(crf):
    torch.manual_seed(0)
    examples = []
    for s in _sentences(5, vocab=6) * 4:
        tags = [0] + [int(s[t - 1] > 3) + 1 for t in range(1, len(s))]
        examples.append(TaggedExample(s, tags, [[w] for w in s]))
    batches = [collate_tags(examples[i : i + 5]) for i in range(0, 20, 5)]
    cfg = TaggerConfig(vocab_size=6, num_chars=6, num_tags=3, embed_dim=8, hidden_size=8,
                       char_dim=4, char_hidden=4, crf=crf, dropout=0.0, dropout_input=0.0,
                       word_dropout=0.0)  # fmt: skip
    assert _fit(SequenceTagger(cfg), batches, 20) == 1.0


def test_configs_declare_their_vocabularies_and_rebuild_from_the_registry():
    c = ClassifierConfig(vocab_size=20, num_classes=3)
    t = TaggerConfig(vocab_size=20, num_chars=9, num_tags=4)
    assert c.vocab_sizes() == {"words": 20, "labels": 3}
    assert t.vocab_sizes() == {"words": 20, "chars": 9, "tags": 4}
    assert isinstance(build_model("sequence_classifier", {"vocab_size": 20, "num_classes": 3}),
                      SequenceClassifier)  # fmt: skip
    assert isinstance(build_model("sequence_tagger", {"vocab_size": 5, "num_chars": 3,
                                                      "num_tags": 2}), SequenceTagger)  # fmt: skip


def test_bad_configs_name_the_problem():
    with pytest.raises(ValueError, match="pooling"):
        ClassifierConfig(pooling="max+median")
    with pytest.raises(ValueError, match="set them from the vocabularies"):
        SequenceClassifier(ClassifierConfig())
    with pytest.raises(ValueError, match="dropout must be in"):
        TaggerConfig(dropout=1.5)
    model = SequenceClassifier(ClassifierConfig(vocab_size=5, num_classes=2))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(torch.zeros(3, dtype=torch.long), torch.tensor([3]))
