"""Starting a classifier from word vectors (--embeddings) or a language model (--init-from)."""

from __future__ import annotations

import pytest
import torch

from rnnlab.models import ClassifierConfig, LanguageModel, LMConfig, SequenceClassifier
from rnnlab.models.pretrained import init_from_language_model, load_word_vectors
from rnnlab.text.corpora import CorpusFormatError
from rnnlab.text.vocab import build_vocab
from rnnlab.training import save_checkpoint


def _classifier(vocab, **kw):
    cfg = ClassifierConfig(vocab_size=len(vocab), num_classes=2, embed_dim=4, hidden_size=5, **kw)
    return SequenceClassifier(cfg)


def test_word_vectors_fill_known_words_and_report_coverage(tmp_path):
    vocab = build_vocab(["good film", "bad plot"])  # <PAD> <UNK> good film bad plot
    path = tmp_path / "vectors.txt"
    path.write_text("3 4\ngood 1 2 3 4\nfilm 0.5 0 0 -1\nzebra 9 9 9 9\n", encoding="utf-8")
    model = _classifier(vocab)
    before = model.encoder.embedding.weight.detach().clone()
    info = load_word_vectors(path, vocab, model.encoder.embedding)
    weight = model.encoder.embedding.weight
    assert weight[vocab["good"]].tolist() == [1, 2, 3, 4]
    assert weight[vocab["film"]].tolist() == [0.5, 0, 0, -1]
    assert torch.equal(weight[vocab["bad"]], before[vocab["bad"]])  # keeps its random init
    assert weight[0].abs().sum() == 0  # <PAD> stays zero
    assert info == {"embeddings_found": 2.0, "embeddings_coverage": 0.5}


def test_word_vectors_with_the_wrong_dimension_name_file_and_line(tmp_path):
    vocab = build_vocab(["good film"])
    path = tmp_path / "glove.txt"
    path.write_text("good 1 2 3 4\nfilm 1 2 3\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"glove.txt:2: expected a word and 4 numbers"):
        load_word_vectors(path, vocab, _classifier(vocab).encoder.embedding)


def test_init_from_a_language_model_maps_words_and_copies_the_encoder(tmp_path):
    lm_vocab = build_vocab(["the film was good", "<unk> plot"])
    lm = LanguageModel(LMConfig(vocab_size=len(lm_vocab), embed_dim=4, hidden_size=5,
                                num_layers=1))  # fmt: skip
    path = save_checkpoint(tmp_path / "lm", lm, task="lm", vocabs={"tokens": lm_vocab})
    vocab = build_vocab(["good film", "new words"])
    model = _classifier(vocab)
    fresh = model.encoder.embedding.weight[vocab["new"]].detach().clone()
    info = init_from_language_model(model.encoder, vocab, path)
    emb = model.encoder.embedding.weight
    for word in ("good", "film"):
        assert torch.equal(emb[vocab[word]], lm.embedding.weight[lm_vocab[word]])
    assert torch.equal(emb[vocab["<UNK>"]], lm.embedding.weight[lm_vocab["<UNK>"]])
    assert torch.equal(emb[vocab["new"]], fresh)  # a new word keeps its fresh row
    layer, lm_layer = model.encoder.rnn, lm.rnn
    assert torch.equal(layer.weight_hh_l0, lm_layer.weight_hh_l0)
    assert torch.equal(layer.weight_ih_l0, lm_layer.weight_ih_l0)
    assert not torch.equal(layer.weight_hh_l0_reverse, lm_layer.weight_hh_l0)
    assert info["init_words_mapped"] == 3 and info["init_tensors_copied"] == 4


def test_init_from_names_the_size_that_does_not_fit(tmp_path):
    lm_vocab = build_vocab(["a b"])
    lm = LanguageModel(LMConfig(vocab_size=len(lm_vocab), embed_dim=6, hidden_size=5,
                                num_layers=1))  # fmt: skip
    path = save_checkpoint(tmp_path / "lm", lm, task="lm", vocabs={"tokens": lm_vocab})
    vocab = build_vocab(["a"])
    with pytest.raises(ValueError, match="model.embed_dim = 6"):
        init_from_language_model(_classifier(vocab).encoder, vocab, path)
