"""Model registry: ``model_type`` -> model class, so a checkpoint can rebuild any model.

A model class registers itself with a decorator::

    @register_model
    class LanguageModel(nn.Module):
        model_type: ClassVar[str] = "language_model"
        config_class: ClassVar[type] = LanguageModelConfig   # a frozen dataclass
        def __init__(self, config: LanguageModelConfig): ...

Rebuilding (``build_model``) turns the saved config dict into ``config_class`` with
:func:`rnnlab.training.config.from_dict` (unknown keys are errors) and then calls
``cls.from_config(config)`` if the class defines it, else ``cls(config)``. Without a
``config_class`` attribute, the annotation of ``__init__``'s first parameter is used.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from dataclasses import is_dataclass
from typing import Any

_MODELS: dict[str, type] = {}

# Modules imported (once) before a lookup, so that the built-in models are registered.
_BUILTIN_MODULES = ("rnnlab.models",)


class UnknownModelType(KeyError):
    """No model class is registered under the requested ``model_type``."""

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
        _MODELS[key] = klass
        return klass

    return wrap(cls) if cls is not None else wrap


def registered_models() -> list[str]:
    """The registered model types, sorted."""
    return sorted(_MODELS)


def get_model_class(model_type: str, module: str | None = None) -> type:
    """The class registered as ``model_type``; ``module`` is imported first if given."""
    if model_type not in _MODELS:
        for mod in (*_BUILTIN_MODULES, *([module] if module else [])):
            try:
                importlib.import_module(mod)
            except ImportError:
                pass
    if model_type not in _MODELS:
        known = ", ".join(registered_models()) or "none"
        raise UnknownModelType(f"unknown model_type {model_type!r}; registered: {known}")
    return _MODELS[model_type]


def config_class_of(cls: type) -> type:
    """The config dataclass of a model class (``config_class``, else ``__init__``'s hint)."""
    cfg_cls = getattr(cls, "config_class", None)
    if cfg_cls is None:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        if params:
            hints = typing.get_type_hints(cls.__init__)
            cfg_cls = hints.get(params[0].name)
    if cfg_cls is None or not is_dataclass(cfg_cls):
        raise TypeError(
            f"{cls.__name__} needs a class attribute config_class (its config dataclass)"
        )
    return cfg_cls


def build_model(model_type: str, config: dict[str, Any], module: str | None = None) -> Any:
    """Instantiate the registered model ``model_type`` from its saved config dict."""
    from rnnlab.training.config import from_dict

    cls = get_model_class(model_type, module)
    cfg = from_dict(config_class_of(cls), config)
    factory = getattr(cls, "from_config", None)
    return factory(cfg) if callable(factory) else cls(cfg)
