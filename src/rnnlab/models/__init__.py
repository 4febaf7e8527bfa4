"""Models built from rnnlab's layers, each implementing the trainer's model contract.

``language_model``: ``LanguageModel`` / ``LMConfig`` (registered as "language_model");
``sampling``: ``generate`` (temperature, top-k, top-p) for language models;
``classifier``: ``SequenceClassifier`` / ``ClassifierConfig`` ("sequence_classifier");
``tagger``: ``SequenceTagger`` / ``TaggerConfig`` ("sequence_tagger").
Importing this package registers the built-in models with ``rnnlab.training.registry``.
"""

from __future__ import annotations

from rnnlab.models.classifier import ClassifierConfig, SequenceClassifier
from rnnlab.models.language_model import LanguageModel, LMConfig
from rnnlab.models.tagger import SequenceTagger, TaggerConfig

__all__ = [
    "ClassifierConfig",
    "LanguageModel",
    "LMConfig",
    "SequenceClassifier",
    "SequenceTagger",
    "TaggerConfig",
]
