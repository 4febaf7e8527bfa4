"""Checkpoints (format 2): named vocabularies, registry-only loading, integrity errors,
atomic saves and their recovery, the format-1 reader."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from training_toys import LMConfig, RegressorConfig, ToyLM, ToyRegressor, ToyVocab

from rnnlab.text import LabelVocabulary, Vocabulary
from rnnlab.training import (
    CheckpointError,
    CheckpointNotFound,
    TrainConfig,
    build_optimizer,
    load_checkpoint,
    load_model,
    recover_checkpoint,
    restore_model_state,
    save_checkpoint,
)
from rnnlab.training import checkpoint as ckpt_mod

V1 = Path(__file__).resolve().parents[1] / "data" / "v1-checkpoint"


def _vocab(n=12):
    return ToyVocab([f"w{i}" for i in range(n)])


def _resign(path, *names):
    """Re-sign files in the manifest (a consistent forgery of an edited checkpoint)."""
    manifest = json.loads((path / "manifest.json").read_text())
    for name in names:
        raw = (path / name).read_bytes()
        manifest["files"][name] = {"sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw)}
    (path / "manifest.json").write_text(json.dumps(manifest))


def _rewrite(path, name, data):
    (path / name).write_text(json.dumps(data))
    _resign(path, name)


def test_round_trip_weights_vocabs_config(tmp_path):
    model = ToyLM(LMConfig(tie=True))
    path = save_checkpoint(
        tmp_path / "best",
        model,
        task="lm",
        vocabs={"tokens": _vocab()},
        run_config={"lr": 1.0},
        metrics={"valid_ppl": 3.5},
    )
    loaded = load_model(path)
    assert isinstance(loaded.model, ToyLM) and not loaded.model.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value)
    assert loaded.model.decoder.weight is loaded.model.embedding.weight  # still tied
    assert loaded.vocabs["tokens"].tokens == _vocab().tokens and loaded.task == "lm"
    config = loaded.config
    assert config["version"] == 2 and config["model_type"] == "toy_lm"
    assert config["run_config"] == {"lr": 1.0} and config["metrics"] == {"valid_ppl": 3.5}
    assert config["vocabs"]["tokens"]["class"] == "ToyVocab"
    model2, vocab2, config2 = load_model(path)  # the format-1 triple still unpacks
    assert vocab2 is not None and config2 == config
    from safetensors import safe_open

    with safe_open(str(path / "model.safetensors"), framework="pt") as fh:
        assert "decoder.weight" not in fh.keys()  # tied weights are stored once


def test_several_named_vocabularies_and_an_extra_file(tmp_path):
    from dataclasses import dataclass
    from typing import ClassVar

    from rnnlab.training import register_model

    @dataclass(frozen=True)
    class TwoVocabConfig:
        words: int = 6
        labels: int = 3

        def vocab_sizes(self):
            return {"words": self.words, "labels": self.labels}

    @register_model
    class TwoVocabModel(torch.nn.Module):
        model_type: ClassVar[str] = "test_two_vocab"
        config_class: ClassVar[type] = TwoVocabConfig

        def __init__(self, config):
            super().__init__()
            self.config = config
            self.out = torch.nn.Linear(config.words, config.labels)

    words = Vocabulary(["good", "bad", "film", "plot"])  # + <PAD>, <UNK>
    labels = LabelVocabulary(["neg", "pos", "neutral"])
    spm = tmp_path / "sub.model"
    spm.write_bytes(b"\x00subword model bytes")
    model = TwoVocabModel(TwoVocabConfig())
    path = save_checkpoint(
        tmp_path / "c",
        model,
        task="classify",
        vocabs={"words": words, "labels": labels},
        extra_files={"sub.model": spm},
    )
    names = sorted(p.name for p in path.iterdir())
    assert "vocab.words.json" in names and "vocab.labels.json" in names
    assert "extra/sub.model" in json.loads((path / "manifest.json").read_text())["files"]
    loaded = load_model(path)
    assert loaded.vocabs["words"] == words and loaded.vocabs["labels"] == labels
    assert loaded.extra_files["sub.model"].read_bytes() == spm.read_bytes()
    # each size is checked against what the model config declares
    with pytest.raises(CheckpointError, match="'labels' has 2 entries but the model expects 3"):
        save_checkpoint(
            tmp_path / "d", model, vocabs={"words": words, "labels": labels.__class__(["a", "b"])}
        )
    with pytest.raises(CheckpointError, match="'labels' is missing"):
        save_checkpoint(tmp_path / "d", model, vocabs={"words": words})
    assert not (tmp_path / "d").exists()
    # a modified extra file is named
    (path / "extra" / "sub.model").write_bytes(b"changed")
    with pytest.raises(CheckpointError, match=r"extra/sub\.model is"):
        load_model(path)


def test_optimizer_and_carried_state_round_trip_only_for_resume(tmp_path):
    model = ToyRegressor(RegressorConfig())
    opt = build_optimizer(model, TrainConfig(optimizer="adam", lr=0.1))
    model.net[0].weight.sum().backward()
    opt.step()
    carry = (torch.randn(1, 2, 3), [torch.arange(4), None])
    path = save_checkpoint(
        tmp_path / "last",
        model,
        optimizer=opt,
        trainer_state={"global_step": 1, "epoch": 1},
        carry=carry,
    )
    ckpt = load_checkpoint(path, resume=True)
    assert ckpt.config["global_step"] == 1 and ckpt.trainer_state["epoch"] == 1
    assert torch.equal(ckpt.carry[0], carry[0]) and torch.equal(ckpt.carry[1][0], carry[1][0])
    assert ckpt.carry[1][1] is None
    opt2 = build_optimizer(model, TrainConfig(optimizer="adam", lr=0.1))
    opt2.load_state_dict(ckpt.optimizer_state)
    for idx, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            assert torch.equal(opt2.state_dict()["state"][idx][key], value)
    # evaluation does not read (or need) the optimizer: a damaged one stops only a resume
    (path / "optimizer.safetensors").write_bytes(b"junk")
    load_model(path)
    with pytest.raises(CheckpointError, match="optimizer.safetensors is truncated"):
        load_checkpoint(path, resume=True)


def test_tampered_and_truncated_files_are_named(tmp_path):
    path = save_checkpoint(tmp_path / "c", ToyLM(LMConfig()), vocabs={"tokens": _vocab()})
    weights = path / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"model\.safetensors fails its SHA-256 check"):
        load_model(path)
    weights.write_bytes(bytes(raw[:-10]))
    with pytest.raises(CheckpointError, match=r"model\.safetensors is truncated"):
        load_checkpoint(path)
    (path / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match="manifest.json is missing"):
        load_model(path)


@pytest.mark.parametrize(
    "edit",
    [lambda m: m["files"].pop("model.safetensors"), lambda m: m.__setitem__("files", {})],
    ids=["entry-removed", "files-empty"],
)
def test_manifest_must_list_every_file_read(tmp_path, edit):
    path = save_checkpoint(tmp_path / "c", ToyLM(LMConfig()), vocabs={"tokens": _vocab()})
    manifest = json.loads((path / "manifest.json").read_text())
    edit(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "model.safetensors").write_bytes(b"not even safetensors")
    with pytest.raises(CheckpointError, match="is not listed in .*manifest.json"):
        load_model(path)


def test_vocabulary_edited_at_the_same_size_is_noticed(tmp_path):
    vocab = Vocabulary([f"w{i}" for i in range(10)])
    path = save_checkpoint(tmp_path / "c", ToyLM(LMConfig(vocab_size=12)), vocabs={"tokens": vocab})
    relabelled = vocab.to_dict()
    relabelled["tokens"][2], relabelled["tokens"][3] = (
        relabelled["tokens"][3],
        relabelled["tokens"][2],
    )
    _rewrite(path, "vocab.tokens.json", relabelled)
    with pytest.raises(CheckpointError, match="fingerprint differs"):
        load_model(path)


def test_loading_never_imports_a_module_named_by_the_file(tmp_path, capsys):
    import sys

    path = save_checkpoint(tmp_path / "c", ToyRegressor(RegressorConfig()))
    config = json.loads((path / "config.json").read_text())
    for forged in ({"model_type": "this"}, {"model_type": "os:system"}):
        _rewrite(path, "config.json", {**config, **forged, "model_module": "this"})
        sys.modules.pop("this", None)
        with pytest.raises(CheckpointError, match=r"unknown model_type .*registered:.*toy_lm"):
            load_model(path)
        assert "this" not in sys.modules and "Zen of Python" not in capsys.readouterr().out
    # a vocabulary class outside the registry is refused by name, not imported
    vpath = save_checkpoint(tmp_path / "v", ToyLM(LMConfig()), vocabs={"tokens": _vocab()})
    vconfig = json.loads((vpath / "config.json").read_text())
    vconfig["vocabs"]["tokens"]["class"] = "this:Zen"
    _rewrite(vpath, "config.json", vconfig)
    with pytest.raises(CheckpointError, match="unknown vocabulary class 'this:Zen'"):
        load_model(vpath)
    assert "this" not in sys.modules


def test_unknown_config_key_and_architecture_mismatch(tmp_path):
    path = save_checkpoint(tmp_path / "c", ToyLM(LMConfig(hidden=8)))
    config = json.loads((path / "config.json").read_text())
    config["model_config"]["hidden"] = 6
    _rewrite(path, "config.json", config)
    with pytest.raises(
        CheckpointError, match=r"embedding\.weight: model \(12, 6\), checkpoint \(12, 8\)"
    ):
        load_model(path)
    config["model_config"]["heads"] = 4
    _rewrite(path, "config.json", config)
    with pytest.raises(CheckpointError, match="unknown config key 'heads'"):
        load_model(path)
    other = ToyRegressor(RegressorConfig())
    with pytest.raises(CheckpointError, match=r"missing keys \['net\.0\.bias'"):
        restore_model_state(other, ToyLM(LMConfig()).state_dict())


def test_non_finite_weights_are_refused_by_name(tmp_path):
    model = ToyRegressor(RegressorConfig())
    with torch.no_grad():
        model.net[0].weight[0, 0] = float("nan")
    path = save_checkpoint(tmp_path / "c", model)
    with pytest.raises(CheckpointError, match=r"not finite in net\.0\.weight \(1 of"):
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
        return real(path, data, indent)

    monkeypatch.setattr(ckpt_mod, "write_json", dies_on_config)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "last", second)
    monkeypatch.undo()
    loaded, _, _ = load_model(tmp_path / "last")
    for key, value in first.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]  # no temp dirs left


def test_kill_between_renames_is_recovered_from_the_newest_complete_copy(tmp_path):
    old_model, new_model = ToyRegressor(RegressorConfig()), ToyRegressor(RegressorConfig())
    save_checkpoint(tmp_path / "last", old_model, trainer_state={"global_step": 3})
    save_checkpoint(tmp_path / "next", new_model, trainer_state={"global_step": 4})
    # the state a kill -9 between the two renames leaves: no `last`, an old and a new copy
    (tmp_path / "last").rename(tmp_path / ".last.old-aaaa")
    (tmp_path / "next").rename(tmp_path / ".last.tmp-aaaa")
    (tmp_path / ".last.tmp-bbbb").mkdir()  # and a half-written one from an earlier kill
    with pytest.raises(CheckpointNotFound, match=r"\.last\.old-aaaa"):
        load_model(tmp_path / "last")
    message = recover_checkpoint(tmp_path / "last")
    assert "from .last.tmp-aaaa" in message and "step 4" in message
    loaded, _, _ = load_model(tmp_path / "last")
    for key, value in new_model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]  # leftovers removed
    assert recover_checkpoint(tmp_path / "last") is None


def test_a_save_removes_leftovers_of_killed_saves(tmp_path):
    (tmp_path / ".last.tmp-dead").mkdir()
    (tmp_path / ".last.old-dead").mkdir()
    save_checkpoint(tmp_path / "last", ToyRegressor(RegressorConfig()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]


def test_vocab_size_mismatch(tmp_path):
    model = ToyLM(LMConfig(vocab_size=12))
    with pytest.raises(CheckpointError, match="'tokens' has 13 entries but the model expects 12"):
        save_checkpoint(tmp_path / "c", model, vocabs={"tokens": _vocab(13)})
    assert not (tmp_path / "c").exists()
    path = save_checkpoint(tmp_path / "c", model, vocabs={"tokens": _vocab(12)})
    _rewrite(path, "vocab.tokens.json", _vocab(11).to_dict())
    with pytest.raises(CheckpointError, match=r"vocab\.tokens\.json has 11 entries"):
        load_model(path)


def test_never_pickles(tmp_path, monkeypatch):
    def no_pickle(*args, **kwargs):
        raise AssertionError("torch.load/torch.save must not be used")

    import pickle

    monkeypatch.setattr(torch, "load", no_pickle)
    monkeypatch.setattr(torch, "save", no_pickle)
    for name in ("dump", "dumps", "load", "loads"):
        monkeypatch.setattr(pickle, name, no_pickle)
    opt = build_optimizer(ToyLM(LMConfig()), TrainConfig(optimizer="adam"))
    path = save_checkpoint(
        tmp_path / "c",
        ToyLM(LMConfig()),
        vocabs={"tokens": _vocab()},
        optimizer=opt,
        trainer_state={"global_step": 0},
        carry=torch.zeros(1, 2, 8),
    )
    load_model(path)
    load_checkpoint(path, resume=True)
    suffixes = {f.suffix for f in Path(path).iterdir()}
    assert suffixes <= {".json", ".safetensors"}, suffixes


def test_format_1_checkpoints_are_read(tmp_path):
    """Checkpoints written by the format-1 code (tests/data/v1-checkpoint) load, give the
    logits that code computed, and are refused for resume with a message."""
    expected = json.loads((V1 / "expected.json").read_text())
    for name in ("best", "last"):
        loaded = load_model(V1 / name)
        assert loaded.task == "lm" and loaded.config["version"] == 1
        vocab = loaded.vocabs["tokens"]
        assert isinstance(vocab, Vocabulary) and loaded.vocab is vocab
        ids = torch.tensor([vocab.encode(expected["tokens"])]).T  # (T, 1)
        assert ids[:, 0].tolist() == expected["ids"]
        with torch.no_grad():
            logits = loaded.model(ids)[0]
        assert list(logits.shape) == expected["shape"]
        torch.testing.assert_close(
            logits.reshape(-1), torch.tensor(expected["logits"]), rtol=0, atol=1e-6
        )
    with pytest.raises(CheckpointError, match="format 1.*not resumed"):
        load_checkpoint(V1 / "last", resume=True)
