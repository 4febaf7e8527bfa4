"""Models built from rnnlab's layers, each implementing the trainer's model contract.

``language_model``: ``LanguageModel`` (registered as "language_model"); ``lm_config``: its
``LMConfig``; ``size``: parameter counts and the refusal of models too large to allocate;
``lm_training``: the language-modelling task (``LMTask``, registered as "lm");
``sampling``: ``generate`` (temperature, top-k, top-p) for language models;
``classifier``: ``SequenceClassifier`` / ``ClassifierConfig`` ("sequence_classifier");
``tagger``: ``SequenceTagger`` / ``TaggerConfig`` ("sequence_tagger");
``classify_task`` / ``tag_task``: the "classify" and "tag" tasks;
``seq2seq``: ``Seq2Seq`` / ``Seq2SeqConfig`` ("seq2seq"), ``decoding``: greedy and beam
search, ``translate_task``: the "translate" task.
Importing this package registers the built-in models with ``rnnlab.training.registry`` and
the built-in tasks with ``rnnlab.training.runs``.
"""

from __future__ import annotations

from rnnlab.models import lm_training  # noqa: F401  (registers the "lm" task)
from rnnlab.models.classifier import ClassifierConfig, SequenceClassifier
from rnnlab.models.classify_task import ClassifyTask
from rnnlab.models.language_model import LanguageModel, LMConfig
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.models.tag_task import TagTask
from rnnlab.models.tagger import SequenceTagger, TaggerConfig
from rnnlab.models.translate_task import TranslateTask

__all__ = [
    "ClassifierConfig",
    "ClassifyTask",
    "LanguageModel",
    "LMConfig",
    "Seq2Seq",
    "Seq2SeqConfig",
    "SequenceClassifier",
    "SequenceTagger",
    "TagTask",
    "TaggerConfig",
    "TranslateTask",
]
