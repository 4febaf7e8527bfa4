"""Models built from rnnlab's layers, each implementing the trainer's model contract.

``language_model``: ``LanguageModel`` (registered as "language_model"); ``lm_config``: its
``LMConfig``; ``size``: parameter counts and the refusal of models too large to allocate;
``lm_training``: the language-modelling task (``LMTask``, registered as "lm");
``sampling``: ``generate`` (temperature, top-k, top-p) for language models.
Importing this package registers the built-in models with ``rnnlab.training.registry`` and
the built-in tasks with ``rnnlab.training.runs``.
"""

from __future__ import annotations

from rnnlab.models import lm_training  # noqa: F401  (registers the "lm" task)
from rnnlab.models.language_model import LanguageModel, LMConfig

__all__ = ["LanguageModel", "LMConfig"]
