"""Checkpoints: round trip, tied weights, integrity errors, atomic saves, mismatches."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from training_toys import LMConfig, RegressorConfig, ToyLM, ToyRegressor, ToyVocab

from rnnlab.training import (
    CheckpointError,
    CheckpointNotFound,
    TrainConfig,
    build_optimizer,
    load_checkpoint,
    load_model,
    restore_model_state,
    save_checkpoint,
)
from rnnlab.training import checkpoint as ckpt_mod


def _vocab(n=12):
    return ToyVocab([f"w{i}" for i in range(n)])


def _rewrite(path, name, data):
    """Edit a checkpoint file and re-sign the manifest (a consistent but different file)."""
    (path / name).write_text(json.dumps(data))
    manifest = json.loads((path / "manifest.json").read_text())
    raw = (path / name).read_bytes()
    manifest["files"][name] = {"sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw)}
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_round_trip_weights_vocab_config(tmp_path):
    model = ToyLM(LMConfig(tie=True))
    path = save_checkpoint(
        tmp_path / "best", model, vocab=_vocab(), run_config={"lr": 1.0}, metrics={"valid_ppl": 3.5}
    )
    loaded, vocab, config = load_model(path)
    assert isinstance(loaded, ToyLM) and not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert loaded.decoder.weight is loaded.embedding.weight  # still tied
    assert isinstance(vocab, ToyVocab) and vocab.tokens == _vocab().tokens
    assert config["model_type"] == "toy_lm" and config["run_config"] == {"lr": 1.0}
    assert config["metrics"] == {"valid_ppl": 3.5}
    # tied weights are stored once
    from safetensors import safe_open

    with safe_open(str(path / "model.safetensors"), framework="pt") as fh:
        assert "decoder.weight" not in fh.keys()


def test_optimizer_state_round_trip(tmp_path):
    model = ToyRegressor(RegressorConfig())
    opt = build_optimizer(model, TrainConfig(optimizer="adam", lr=0.1))
    model.net[0].weight.sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "last", model, optimizer=opt, trainer_state={"step": 1, "epoch": 1})
    ckpt = load_checkpoint(tmp_path / "last")
    assert ckpt.config["step"] == 1 and ckpt.trainer_state == {"step": 1, "epoch": 1}
    opt2 = build_optimizer(model, TrainConfig(optimizer="adam", lr=0.1))
    opt2.load_state_dict(ckpt.optimizer_state)
    for idx, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            assert torch.equal(opt2.state_dict()["state"][idx][key], value)


def test_tampered_and_truncated_files_are_named(tmp_path):
    path = save_checkpoint(tmp_path / "c", ToyLM(LMConfig()), vocab=_vocab())
    weights = path / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"model\.safetensors fails its SHA-256 check"):
        load_model(path)
    weights.write_bytes(bytes(raw[:-10]))
    with pytest.raises(CheckpointError, match=r"model\.safetensors is truncated"):
        load_checkpoint(path)
    (path / "vocab.json").unlink()
    (path / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match="manifest.json is missing"):
        load_model(path)


def test_missing_directory(tmp_path):
    with pytest.raises(CheckpointNotFound, match="not found"):
        load_model(tmp_path / "nope")


def test_interrupted_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    first = ToyRegressor(RegressorConfig())
    save_checkpoint(tmp_path / "last", first)
    second = ToyRegressor(RegressorConfig())

    real = ckpt_mod.write_json

    def dies_on_config(path, data, indent=2):
        if path.name == "config.json":
            raise KeyboardInterrupt  # as if Ctrl-C hit mid-save
        real(path, data, indent)

    monkeypatch.setattr(ckpt_mod, "write_json", dies_on_config)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "last", second)
    monkeypatch.undo()
    loaded, _, _ = load_model(tmp_path / "last")
    for key, value in first.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]  # no temp dirs left


def test_crash_between_renames_points_to_old_copy(tmp_path):
    save_checkpoint(tmp_path / "last", ToyRegressor(RegressorConfig()))
    (tmp_path / "last").rename(tmp_path / ".last.old-1234")
    with pytest.raises(CheckpointNotFound, match=r"\.last\.old-1234"):
        load_model(tmp_path / "last")


def test_vocab_size_mismatch(tmp_path):
    model = ToyLM(LMConfig(vocab_size=12))
    with pytest.raises(CheckpointError, match="13 entries.*vocab_size=12"):
        save_checkpoint(tmp_path / "c", model, vocab=_vocab(13))
    assert not (tmp_path / "c").exists()
    path = save_checkpoint(tmp_path / "c", model, vocab=_vocab(12))
    _rewrite(path, "vocab.json", _vocab(11).to_dict())
    with pytest.raises(CheckpointError, match=r"vocab\.json has 11 entries"):
        load_model(path)


def test_architecture_mismatch_names_keys(tmp_path):
    path = save_checkpoint(tmp_path / "c", ToyLM(LMConfig(hidden=8)))
    config = json.loads((path / "config.json").read_text())
    config["model_config"]["hidden"] = 6
    _rewrite(path, "config.json", config)
    with pytest.raises(
        CheckpointError, match=r"embedding\.weight: model \(12, 6\), checkpoint \(12, 8\)"
    ):
        load_model(path)
    other = ToyRegressor(RegressorConfig())
    with pytest.raises(CheckpointError, match=r"missing keys \['net\.0\.bias'"):
        restore_model_state(other, ToyLM(LMConfig()).state_dict())


def test_unknown_model_type_and_unknown_config_key(tmp_path):
    path = save_checkpoint(tmp_path / "c", ToyRegressor(RegressorConfig()))
    config = json.loads((path / "config.json").read_text())
    _rewrite(path, "config.json", {**config, "model_type": "transformer"})
    with pytest.raises(
        CheckpointError, match="unknown model_type 'transformer'; registered:.*toy_lm"
    ):
        load_model(path)
    config["model_config"]["heads"] = 4
    _rewrite(path, "config.json", config)
    with pytest.raises(CheckpointError, match="unknown config key 'heads'"):
        load_model(path)


def test_never_pickles(tmp_path, monkeypatch):
    def no_pickle(*args, **kwargs):
        raise AssertionError("torch.load/torch.save must not be used")

    import pickle

    monkeypatch.setattr(torch, "load", no_pickle)
    monkeypatch.setattr(torch, "save", no_pickle)
    for name in ("dump", "dumps", "load", "loads"):
        monkeypatch.setattr(pickle, name, no_pickle)
    path = save_checkpoint(tmp_path / "c", ToyLM(LMConfig()), vocab=_vocab())
    load_model(path)
    suffixes = {f.suffix for f in Path(path).iterdir()}
    assert suffixes <= {".json", ".safetensors"}, suffixes


def test_real_vocabulary_round_trip(tmp_path):
    from rnnlab.text.vocab import Vocabulary

    vocab = Vocabulary([f"w{i}" for i in range(10)])  # + <PAD>, <UNK>: 12 entries
    path = save_checkpoint(tmp_path / "c", ToyLM(LMConfig(vocab_size=len(vocab))), vocab=vocab)
    _, loaded, config = load_model(path)
    assert config["vocab_class"] == "rnnlab.text.vocab:Vocabulary"
    assert isinstance(loaded, Vocabulary) and loaded == vocab
