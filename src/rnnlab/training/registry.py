"""Registries of the classes a checkpoint may name: models and vocabularies.

Loading a checkpoint never imports a module named by the file. ``config.json`` names a
``model_type`` and, per vocabulary, a class name; both are looked up here, among rnnlab's
own classes (registered when ``rnnlab.models`` / ``rnnlab.text`` are imported) and the
classes a user registered in code before loading. Any other name is refused with a
message that lists the known ones.

A model class registers itself with a decorator::

    @register_model
    class LanguageModel(nn.Module):
        model_type: ClassVar[str] = "language_model"
        config_class: ClassVar[type] = LMConfig   # a frozen dataclass
        def __init__(self, config: LMConfig): ...

Rebuilding (``build_model``) turns the saved config dict into ``config_class`` with
:func:`rnnlab.training.config.from_dict` (unknown keys are errors) and then calls
``cls.from_config(config)`` if the class defines it, else ``cls(config)``.

Vocabulary classes need ``to_dict()`` and a classmethod ``from_dict(data)``;
``Vocabulary`` and ``LabelVocabulary`` are built in, ``register_vocabulary`` adds others.
"""

from __future__ import annotations

import importlib
from dataclasses import is_dataclass
from typing import Any

_MODELS: dict[str, type] = {}
_VOCABS: dict[str, type] = {}

# rnnlab's own modules, imported (once) before a lookup so that the built-ins are registered.
# These names are fixed here; nothing read from a file is ever imported.
_BUILTIN_MODEL_MODULES = ("rnnlab.models",)


class UnknownModelType(KeyError):
    """No class is registered under the requested name; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def register_model(cls: type | None = None, *, name: str | None = None) -> Any:
    """Class decorator registering ``cls`` under ``name`` or ``cls.model_type``."""

    def wrap(klass: type) -> type:
        key = name or getattr(klass, "model_type", None)
        if not isinstance(key, str) or not key:
            raise TypeError(f"{klass.__name__} needs a class attribute model_type (a string)")
        old = _MODELS.get(key)
        if old is not None and old.__qualname__ != klass.__qualname__:
            raise ValueError(
                f"model_type {key!r} is already registered by {old.__module__}.{old.__qualname__}"
            )
        if not is_dataclass(getattr(klass, "config_class", None)):
            raise TypeError(
                f"{klass.__name__} needs a class attribute config_class (its config dataclass)"
            )
        _MODELS[key] = klass
        return klass

    return wrap(cls) if cls is not None else wrap


def _import_builtins() -> None:
    for module in _BUILTIN_MODEL_MODULES:
        importlib.import_module(module)


def registered_models() -> list[str]:
    """The registered model types, sorted (rnnlab's own included)."""
    _import_builtins()
    return sorted(_MODELS)


def get_model_class(model_type: str) -> type:
    """The class registered as ``model_type``; UnknownModelType (listing the known) if none."""
    if model_type not in _MODELS:
        _import_builtins()
    if not isinstance(model_type, str) or model_type not in _MODELS:
        raise UnknownModelType(
            f"unknown model_type {model_type!r}; registered: {', '.join(sorted(_MODELS))}. "
            "rnnlab builds only registered classes; a model defined outside rnnlab must be "
            "registered in code (rnnlab.training.register_model) before it is loaded"
        )
    return _MODELS[model_type]


def config_class_of(cls: type) -> type:
    """The config dataclass of a registered model class."""
    return cls.config_class


def build_model(model_type: str, config: dict[str, Any]) -> Any:
    """Instantiate the registered model ``model_type`` from its saved config dict."""
    from rnnlab.training.config import from_dict

    cls = get_model_class(model_type)
    cfg = from_dict(config_class_of(cls), config)
    factory = getattr(cls, "from_config", None)
    return factory(cfg) if callable(factory) else cls(cfg)


# --------------------------------------------------------------------------- vocabularies
def register_vocabulary(cls: type) -> type:
    """Register a vocabulary class (needs ``to_dict`` and ``from_dict``) under its name."""
    if not callable(getattr(cls, "from_dict", None)) or not callable(getattr(cls, "to_dict", None)):
        raise TypeError(f"{cls.__name__} needs to_dict() and a classmethod from_dict()")
    old = _VOCABS.get(cls.__name__)
    if old is not None and old is not cls and old.__qualname__ != cls.__qualname__:
        raise ValueError(f"vocabulary class name {cls.__name__!r} is already registered")
    _VOCABS[cls.__name__] = cls
    return cls


def _builtin_vocabularies() -> None:
    from rnnlab.text.labels import LabelVocabulary
    from rnnlab.text.vocab import Vocabulary

    for cls in (Vocabulary, LabelVocabulary):
        _VOCABS.setdefault(cls.__name__, cls)


def vocabulary_name(vocab: Any) -> str:
    """The registry name of ``vocab``'s class; TypeError if it is not registered."""
    _builtin_vocabularies()
    name = type(vocab).__name__
    if _VOCABS.get(name) is not type(vocab):
        raise TypeError(
            f"vocabulary class {type(vocab).__module__}.{type(vocab).__qualname__} is not "
            "registered (rnnlab.training.registry.register_vocabulary)"
        )
    return name


def get_vocabulary_class(name: str) -> type:
    """The vocabulary class registered as ``name``; UnknownModelType if none."""
    _builtin_vocabularies()
    if not isinstance(name, str) or name not in _VOCABS:
        raise UnknownModelType(
            f"unknown vocabulary class {name!r}; registered: {', '.join(sorted(_VOCABS))}"
        )
    return _VOCABS[name]
