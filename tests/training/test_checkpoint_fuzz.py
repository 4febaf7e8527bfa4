"""Fuzz the checkpoint loaders: truncated, bit-flipped, oversized, deleted and type-confused
files, with and without a consistently re-signed manifest.

Every case must end in one of two ways: a CheckpointError / ResumeError whose message names
the checkpoint, or (only when the manifest was re-signed, as a forger would) a successful
load. Never another exception, never a hang; without re-signing, never a load at all.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.models.language_model import LanguageModel, LMConfig
from rnnlab.text import Vocabulary
from rnnlab.training import (
    CheckpointError,
    ResumeError,
    TrainConfig,
    Trainer,
    load_model,
)

FILES = [
    "config.json",
    "manifest.json",
    "model.safetensors",
    "vocab.tokens.json",
    "trainer_state.json",
    "optimizer.safetensors",
    "carry.safetensors",
]
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
COUNTS = {"cases": 0, "refused": 0, "loaded_after_resign": 0}


def _model():
    torch.manual_seed(0)
    return LanguageModel(LMConfig(vocab_size=8, embed_dim=4, hidden_size=4, num_layers=1))


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A complete `last` checkpoint of a tiny LM: weights, vocabulary, optimizer, carry."""
    root = tmp_path_factory.mktemp("fuzz")
    model = _model()
    trainer = Trainer(model, TrainConfig(optimizer="adam", progress=False), run_dir=root)
    batch = torch.randint(0, 8, (5, 2))
    from rnnlab.text.lm_batching import LMBatch

    out = model.step(LMBatch(batch, batch), model.initial_state(2, torch.device("cpu")))
    out.loss.backward()
    trainer.optimizer.step()
    trainer.state.phase, trainer.state.epoch, trainer.state.batches_done = "train", 1, 1
    trainer._carry = out.state
    vocab = Vocabulary([f"w{i}" for i in range(6)])
    trainer.vocabs = {"tokens": vocab}
    path = trainer._save("last")
    assert sorted(p.name for p in path.iterdir()) == sorted(FILES)
    return path


def _resign(path: Path, name: str) -> None:
    manifest_file = path / "manifest.json"
    try:
        manifest = json.loads(manifest_file.read_text())
        if (path / name).exists():
            raw = (path / name).read_bytes()
            digest = hashlib.sha256(raw).hexdigest()
            manifest["files"][name] = {"sha256": digest, "size": len(raw)}
        manifest_file.write_text(json.dumps(manifest))
    except (ValueError, KeyError, TypeError, AttributeError):
        pass  # the manifest itself was the mutated file


def _confuse(data, draw_value, path_choice):
    """Replace one value found by walking ``path_choice`` with ``draw_value``."""
    node = data
    for choice in path_choice:
        if isinstance(node, dict) and node:
            key = sorted(node)[choice % len(node)]
            if not isinstance(node[key], (dict, list)) or not node[key]:
                node[key] = draw_value
                return data
            node = node[key]
        elif isinstance(node, list) and node:
            i = choice % len(node)
            if not isinstance(node[i], (dict, list)) or not node[i]:
                node[i] = draw_value
                return data
            node = node[i]
    if isinstance(node, dict) and node:
        node[sorted(node)[0]] = draw_value
    return data


mutations = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 0.999)),
    st.tuples(st.just("flip"), st.floats(0, 0.999), st.integers(0, 7)),
    st.tuples(st.just("oversize"), st.integers(1, 4096)),
    st.tuples(st.just("delete")),
    st.tuples(st.just("confuse"), JSON_VALUES, st.lists(st.integers(0, 50), max_size=4)),
)


def _load_all(path: Path):
    load_model(path)
    trainer = Trainer(_model(), TrainConfig(optimizer="adam", progress=False))
    trainer.load_state(path)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.sampled_from(FILES), mutation=mutations, resign=st.booleans())
def test_every_damaged_checkpoint_is_refused_by_name(original, tmp_path, name, mutation, resign):
    path = tmp_path / "case"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(original, path)
    file = path / name
    raw = file.read_bytes()
    kind = mutation[0]
    if kind == "truncate":
        cut = int(len(raw) * mutation[1])
        if not raw[cut:].strip():
            return  # only trailing whitespace removed: the same file
        file.write_bytes(raw[:cut])
    elif kind == "flip":
        i = int(len(raw) * mutation[1])
        file.write_bytes(raw[:i] + bytes([raw[i] ^ (1 << mutation[2])]) + raw[i + 1 :])
    elif kind == "oversize":
        file.write_bytes(raw + b"\x00" * mutation[1])
    elif kind == "delete":
        file.unlink()
    else:
        if not name.endswith(".json"):
            return
        data = _confuse(json.loads(raw), mutation[1], mutation[2])
        file.write_text(json.dumps(data))
        if file.read_bytes() == raw:
            return  # the value was already there: no change to test
    if resign and name != "manifest.json":
        _resign(path, name)
    COUNTS["cases"] += 1
    try:
        _load_all(path)
    except (CheckpointError, ResumeError) as exc:
        COUNTS["refused"] += 1
        assert str(path) in str(exc) or name in str(exc), str(exc)
        return
    assert resign, f"{kind} of {name} without re-signing was loaded"
    COUNTS["loaded_after_resign"] += 1


def test_fuzz_counts_are_reported():
    """Printed with -s; written as JSON where ``RNNLAB_CKPT_FUZZ_COUNTS`` says:

    RNNLAB_CKPT_FUZZ_COUNTS=benchmarks/results/fuzz-checkpoints.json \\
        python -m pytest -q tests/training/test_checkpoint_fuzz.py
    """
    import os

    print(f"checkpoint fuzz: {COUNTS}")
    assert COUNTS["cases"] == 0 or COUNTS["refused"] > 0
    if os.environ.get("RNNLAB_CKPT_FUZZ_COUNTS"):
        from rnnlab.files import write_json

        command = "python -m pytest -q tests/training/test_checkpoint_fuzz.py"
        write_json(os.environ["RNNLAB_CKPT_FUZZ_COUNTS"], {**COUNTS, "command": command})
