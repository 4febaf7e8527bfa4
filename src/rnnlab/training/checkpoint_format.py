"""The checkpoint format (version 2): file names, errors, and what loading returns.

A checkpoint is a directory; nothing in it is pickled::

    last/
      model.safetensors      model.state_dict(); tied tensors stored once, the aliases in the
                             file's metadata ({"aliases": "{\"decoder.weight\": ...}"})
      config.json            {"format": "rnnlab-checkpoint", "version": 2, "task",
                              "model_type", "model_config", "vocabs": {name: {"class",
                              "size", "sha256"}}, "run_config", "run", "metrics",
                              "global_step", "epoch", "extra_files": [name, ...]}
      vocab.<name>.json      one per vocabulary, e.g. vocab.tokens.json, vocab.words.json,
                             vocab.labels.json (label vocabularies have no <PAD>/<UNK>)
      extra/<name>           optional artefacts (a subword model), hashed like the rest
      trainer_state.json     resume only: {"trainer": TrainerState, "scheduler",
                              "optimizer": structure, "carry": structure}
      optimizer.safetensors  resume only: the optimizer's tensors (absent for plain SGD)
      carry.safetensors      resume only: the model's carried state (an LM's (h, c))
      manifest.json          written last: {"format": "rnnlab-checkpoint-manifest",
                              "version": 2, "files": {name: {"sha256", "size"}}}

The loader reads only files that the manifest lists, checks each against its hash and
size, and checks each vocabulary against the size the model config declares
(``config.vocab_sizes()``) and against the hash in ``config.json``. Version-1 checkpoints
(one ``vocab.json``, no ``task``) are read as a language model with the vocabulary
``tokens``; they can be evaluated, sampled and inspected, not resumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

FORMAT = "rnnlab-checkpoint"
MANIFEST_FORMAT = "rnnlab-checkpoint-manifest"
VERSION = 2
READABLE_VERSIONS = (1, 2)
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
OPTIMIZER_FILE = "optimizer.safetensors"
CARRY_FILE = "carry.safetensors"
TRAINER_STATE_FILE = "trainer_state.json"
MANIFEST_FILE = "manifest.json"
EXTRA_DIR = "extra"
V1_VOCAB_FILE = "vocab.json"
V1_VOCAB_NAME = "tokens"


def vocab_file(name: str) -> str:
    """The file of the vocabulary ``name``: ``vocab.<name>.json``."""
    return f"vocab.{name}.json"


def check_vocab_name(name: object) -> str:
    """Vocabulary names become file names: letters, digits, ``_`` and ``-`` only."""
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-" for c in name):
        raise CheckpointError(
            f"vocabulary name {name!r} must be a non-empty string of letters, digits, _ or -"
        )
    return name


class CheckpointError(Exception):
    """A checkpoint is incomplete, corrupted, or does not fit the model; the message says how."""


class CheckpointNotFound(CheckpointError, FileNotFoundError):
    """The checkpoint directory does not exist."""


@dataclass
class Checkpoint:
    """Everything read back from a checkpoint directory (tensors on ``map_location``).

    ``vocabs`` maps each name to its JSON data; ``trainer_state``, ``scheduler_state``,
    ``optimizer_state`` and ``carry`` are read only when loading for resume.
    """

    path: Path
    config: dict[str, Any]
    model_state: dict[str, torch.Tensor]
    vocabs: dict[str, dict[str, Any]] = field(default_factory=dict)
    trainer_state: dict[str, Any] | None = None
    scheduler_state: dict[str, Any] | None = None
    optimizer_state: dict[str, Any] | None = None
    carry: Any = None
    extra_files: dict[str, Path] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return int(self.config["version"])

    @property
    def task(self) -> str | None:
        return self.config.get("task")


@dataclass
class LoadedModel:
    """A model rebuilt from a checkpoint (eval mode), its vocabularies and its config.

    Unpacks as the version-1 triple ``model, vocab, config = load_model(path)``, where
    ``vocab`` is the model's input vocabulary (:attr:`vocab`).
    """

    model: torch.nn.Module
    vocabs: dict[str, Any]
    config: dict[str, Any]
    path: Path
    extra_files: dict[str, Path] = field(default_factory=dict)

    @property
    def task(self) -> str | None:
        return self.config.get("task")

    @property
    def vocab(self) -> Any:
        """The input vocabulary: ``tokens`` (LM), ``words`` (classifier, tagger), ``source``
        (seq2seq), else the only one; None when the checkpoint has none."""
        for name in ("tokens", "words", "source"):
            if name in self.vocabs:
                return self.vocabs[name]
        return next(iter(self.vocabs.values())) if len(self.vocabs) == 1 else None

    def __iter__(self):
        return iter((self.model, self.vocab, self.config))
