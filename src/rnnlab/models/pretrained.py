"""Starting a model from pretrained parts: word vectors from a text file, or an rnnlab LM.

* ``load_word_vectors(path, vocab, embedding)``: a word2vec / GloVe text file (one word and
  its E numbers per line; word2vec's optional first line ``COUNT DIM`` is skipped). Rows of
  the vocabulary's words found in the file are overwritten; the others keep their random
  init. Returns the coverage (the share of the vocabulary found).
* ``init_from_language_model(encoder, vocab, path)``: ULMFiT-style transfer (Howard & Ruder,
  2018): the embedding and the recurrent encoder of a trained rnnlab ``LanguageModel``
  start the classifier. The vocabulary is mapped word by word (a word the LM knows gets the
  LM's row; a new word keeps its fresh row); the LM's recurrent weights fill the encoder's
  forward direction (``weight_ih_l0`` ...); the backward direction, if any, stays fresh.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from rnnlab.text.corpora import CorpusFormatError, read_lines


def load_word_vectors(path: str | Path, vocab, embedding: nn.Embedding) -> dict[str, float]:
    """Copy vectors of known words into ``embedding`` (V, E); returns coverage statistics.

    Raises CorpusFormatError (``file:line``) on a line with the wrong number of values, and
    ValueError when the file's dimension differs from the embedding's.
    """
    E = embedding.weight.shape[1]
    found = 0
    seen: set[int] = set()
    with torch.no_grad():
        for number, line in enumerate(read_lines(path), start=1):
            parts = line.rstrip().split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                if int(parts[1]) != E:
                    raise ValueError(f"{path}: vectors have {parts[1]} dimensions, the model {E}")
                continue  # word2vec header "COUNT DIM"
            if len(parts) < 2:
                continue
            word, values = parts[0], parts[1:]
            if len(values) != E:
                raise CorpusFormatError(
                    path, number, f"expected a word and {E} numbers, got {len(values)} numbers"
                )
            index = vocab.word2idx.get(word)
            if index is None or index in seen or index == vocab.pad_index:
                continue
            try:
                vector = torch.tensor([float(v) for v in values])
            except ValueError:
                raise CorpusFormatError(path, number, "expected numbers after the word") from None
            embedding.weight[index] = vector.to(embedding.weight)
            seen.add(index)
            found += 1
    words = len(vocab) - 2  # <PAD>, <UNK> are not looked up
    return {"embeddings_found": float(found), "embeddings_coverage": found / max(1, words)}


def init_from_language_model(encoder: nn.Module, vocab, path: str | Path) -> dict[str, float]:
    """Copy a trained LM's embedding rows (word by word) and recurrent weights into
    ``encoder`` (a ``SentenceEncoder``); returns how much was transferred."""
    from rnnlab.training import load_model

    lm, lm_vocab, _ = load_model(path)
    lm_cfg = getattr(lm, "config", None)
    if getattr(lm, "model_type", None) != "language_model":
        raise ValueError(f"{path}: --init-from needs a language-model checkpoint")
    if lm_cfg.embed_dim != encoder.embedding.weight.shape[1]:
        raise ValueError(
            f"{path}: the LM's embed_dim is {lm_cfg.embed_dim}, the classifier's "
            f"{encoder.embedding.weight.shape[1]}; set model.embed_dim = {lm_cfg.embed_dim}"
        )
    target = encoder.recurrent_layers()[0]
    if (
        encoder.layerwise
        or encoder.cell != lm_cfg.cell
        or target.hidden_size != (lm_cfg.hidden_size)
    ):
        raise ValueError(
            f"{path}: the LM is a {lm_cfg.cell} with hidden_size {lm_cfg.hidden_size}; set "
            f"model.cell = {lm_cfg.cell!r} and model.hidden_size = {lm_cfg.hidden_size} "
            "(and no layer-wise locked dropout)"
        )
    mapped = 0
    with torch.no_grad():
        for word, index in vocab.word2idx.items():
            lm_index = lm_vocab.word2idx.get(word)
            if lm_index is None and word == "<UNK>":
                lm_index = lm_vocab.word2idx.get("<unk>")
            if lm_index is not None and index != vocab.pad_index:
                encoder.embedding.weight[index] = lm.embedding.weight[lm_index]
                mapped += 1
        source = lm.recurrent_layers()
        layers = min(target.num_layers, lm_cfg.num_layers) if len(source) == 1 else 1
        state = source[0].state_dict()
        copied = 0
        for name, value in target.state_dict().items():
            if not name.endswith("_reverse") and name in state and state[name].shape == value.shape:
                level = int(name.rsplit("_l", 1)[1])
                if level < layers:
                    getattr(target, name).copy_(state[name])
                    copied += 1
    return {"init_words_mapped": float(mapped), "init_words_share": mapped / max(1, len(vocab)),
            "init_tensors_copied": float(copied)}  # fmt: skip
