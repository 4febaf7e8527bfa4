"""Models built from rnnlab's layers, each implementing the trainer's model contract.

``language_model``: ``LanguageModel`` (registered as "language_model"); ``lm_config``: its
``LMConfig``; ``size``: parameter counts and the refusal of models too large to allocate;
``sampling``: ``generate`` (temperature, top-k, top-p) for language models.
Importing this package registers the built-in models with ``rnnlab.training.registry``.
"""

from __future__ import annotations

from rnnlab.models.language_model import LanguageModel, LMConfig

__all__ = ["LanguageModel", "LMConfig"]
