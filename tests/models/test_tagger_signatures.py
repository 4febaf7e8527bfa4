"""A words-only tagger with unknown-word signatures and casing classes: the features reach
the model, padding never matters, and a saved checkpoint maps unknown words the same way."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from rnnlab.cli.predict import predict
from rnnlab.models import SequenceTagger, TaggerConfig
from rnnlab.models.tag_task import TagDataConfig, TagRunConfig, predict_sentences, prepare_tagging
from rnnlab.text.tagging_data import TaggedExample, collate_tags
from rnnlab.training import save_checkpoint

CONLLU = "".join(
    f"1\t{a}\t_\tPROPN\t_\t_\t0\t_\t_\t_\n2\t{b}\t_\tVERB\t_\t_\t0\t_\t_\t_\n"
    f"3\t{c}\t_\tADV\t_\t_\t0\t_\t_\t_\n\n"
    for a, b, c in [("Rex", "barked", "loudly"), ("Tom", "walked", "slowly"),
                    ("Ann", "jumped", "quickly"), ("Rex", "walked", "quickly")] * 3
)  # fmt: skip


def _tiny(shape_dim: int = 4) -> TaggerConfig:
    return TaggerConfig(embed_dim=8, hidden_size=6, char_features=False, shape_dim=shape_dim)


def test_casing_classes_are_required_and_padding_never_matters():
    torch.manual_seed(0)
    cfg = dataclasses.replace(_tiny(), vocab_size=20, num_chars=2, num_tags=4)
    model = SequenceTagger(cfg).double()
    examples = [TaggedExample([3, 4, 5][:n], [0] * n, [[1]] * n, [1] * n, [1, 2, 3][:n])
                for n in (3, 1, 2)]  # fmt: skip
    batch = collate_tags(examples)
    with pytest.raises(ValueError, match=r"casing classes: expected shapes of shape \(3, 3\)"):
        model.predict(batch.ids, batch.lengths)
    tags, probs = model.predict(batch.ids, batch.lengths, shapes=batch.shapes)
    for b, example in enumerate(examples):
        one = collate_tags([example])
        t1, p1 = model.predict(one.ids, one.lengths, shapes=one.shapes)
        n = len(example.ids)
        assert t1[0].tolist() == tags[b, :n].tolist()
        assert torch.allclose(p1[0], probs[b, :n], atol=1e-6, rtol=0)
    # the casing class changes the scores: the embedding is wired in
    other = batch.shapes.masked_fill(batch.shapes > 0, 3)
    assert not torch.allclose(model.predict(batch.ids, batch.lengths, shapes=other)[1], probs)


def test_word_dropout_puts_in_the_fallback_ids():
    torch.manual_seed(0)
    cfg = dataclasses.replace(_tiny(0), vocab_size=20, num_chars=2, num_tags=4,
                              word_dropout=0.5)  # fmt: skip
    model = SequenceTagger(cfg)
    seen = []
    model.encoder.embedding.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    ids = torch.full((4, 50), 7)
    model(ids, torch.full((4,), 50), fallback=torch.full((4, 50), 9))
    assert set(seen[-1].unique().tolist()) == {7, 9}
    model(ids, torch.full((4,), 50))  # no fallback: <UNK> = 1
    assert set(seen[-1].unique().tolist()) == {1, 7}


def test_unseen_word_predicts_the_same_after_save_and_load(tmp_path):
    (tmp_path / "t-train.conllu").write_text(CONLLU, encoding="utf-8")
    (tmp_path / "t-dev.conllu").write_text(CONLLU, encoding="utf-8")
    cfg = TagRunConfig(
        data=TagDataConfig(dataset=f"conllu:{tmp_path}", unk_signatures=True), model=_tiny()
    )
    prepared = prepare_tagging(cfg, splits=("train", "valid"))
    words = prepared.vocabs["words"]
    assert {"<UNK-Cap>", "<UNK-ed>", "<UNK-ly>"} <= set(words.idx2word)
    torch.manual_seed(0)
    model = SequenceTagger(prepared.cfg.model).eval()
    text = "Zorb blicked wugly"  # no word seen in training
    before = predict_sentences(model, prepared.vocabs, [text], signatures=True)[0]
    plain = predict_sentences(model, prepared.vocabs, [text], signatures=False)[0]
    assert before["probabilities"] != plain["probabilities"]  # signatures, not <UNK>
    path = save_checkpoint(tmp_path / "ckpt", model, task="tag", vocabs=prepared.vocabs,
                           run_config=prepared.cfg)  # fmt: skip
    task, (after,) = predict(str(path), [text])
    assert task == "tag" and after["tags"] == before["tags"]
    assert after["probabilities"] == pytest.approx(before["probabilities"], abs=1e-6)
