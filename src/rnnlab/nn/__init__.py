"""Recurrent building blocks written from scratch.

``functional`` holds the pure cell math; ``cells`` one step with parameters;
``recurrent`` the layers (time, depth, direction, lengths); ``simple`` the small
teaching modules; ``embedding`` and ``dropout`` the pieces around them; ``pooling``,
``crf`` and ``char_features`` the read-outs and word features of classifiers and taggers.
Names are imported lazily so that importing one module does not import all.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "RNNCell": "rnnlab.nn.cells",
    "LSTMCell": "rnnlab.nn.cells",
    "GRUCell": "rnnlab.nn.cells",
    "RNN": "rnnlab.nn.recurrent",
    "LSTM": "rnnlab.nn.recurrent",
    "GRU": "rnnlab.nn.recurrent",
    "LayerNormLSTM": "rnnlab.nn.layer_norm_lstm",
    "SimpleRNN": "rnnlab.nn.simple",
    "BiRNN": "rnnlab.nn.simple",
    "SimpleLSTM": "rnnlab.nn.simple",
    "SimpleGRU": "rnnlab.nn.simple",
    "WordEmbedding": "rnnlab.nn.embedding",
    "LockedDropout": "rnnlab.nn.dropout",
    "EmbeddingDropout": "rnnlab.nn.dropout",
    "LinearChainCRF": "rnnlab.nn.crf",
    "CharWordEncoder": "rnnlab.nn.char_features",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rnnlab.nn' has no attribute {name!r}")
