"""rnnlab: recurrent neural networks for NLP, written from scratch on PyTorch tensors.

The public names below are imported lazily, so ``import rnnlab`` stays cheap and
``rnnlab --help`` does not load torch.

    >>> import rnnlab
    >>> rnnlab.LSTM(input_size=8, hidden_size=16, num_layers=2)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # text pipeline
    "simple_tokenize": "rnnlab.text",
    "WordTokenizer": "rnnlab.text",
    "CharTokenizer": "rnnlab.text",
    "Vocabulary": "rnnlab.text",
    "build_vocab": "rnnlab.text",
    # recurrent core
    "RNNCell": "rnnlab.nn",
    "LSTMCell": "rnnlab.nn",
    "GRUCell": "rnnlab.nn",
    "RNN": "rnnlab.nn",
    "LSTM": "rnnlab.nn",
    "GRU": "rnnlab.nn",
    "LayerNormLSTM": "rnnlab.nn",
    "SimpleRNN": "rnnlab.nn",
    "BiRNN": "rnnlab.nn",
    "SimpleLSTM": "rnnlab.nn",
    "SimpleGRU": "rnnlab.nn",
    "WordEmbedding": "rnnlab.nn",
    "LockedDropout": "rnnlab.nn",
    "EmbeddingDropout": "rnnlab.nn",
    # models
    "LanguageModel": "rnnlab.models",
    "LMConfig": "rnnlab.models",
    "SequenceClassifier": "rnnlab.models",
    "ClassifierConfig": "rnnlab.models",
    "SequenceTagger": "rnnlab.models",
    "TaggerConfig": "rnnlab.models",
    # training
    "Trainer": "rnnlab.training",
    "TrainConfig": "rnnlab.training",
    "load_model": "rnnlab.training",
    "save_checkpoint": "rnnlab.training",
    # export
    "export_model": "rnnlab.export",
    # analysis
    "LSTMClassifier": "rnnlab.analysis",
    "train_and_evaluate": "rnnlab.analysis",
    "generate_first_token_copy_data": "rnnlab.analysis",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")
