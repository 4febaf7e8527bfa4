"""Config machinery: typed from_dict, unknown keys, TOML, command-line overrides."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlab.training import (
    ConfigError,
    TrainConfig,
    apply_overrides,
    from_dict,
    load_config,
    parse_value,
    save_config,
    to_dict,
)


@dataclass(frozen=True)
class ModelSection:
    cell: Literal["rnn", "lstm", "gru"] = "lstm"
    hidden: int = 200
    dropout: float = 0.0
    tie: bool = False


@dataclass(frozen=True)
class RunConfig:
    name: str = "run"
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainConfig = field(default_factory=TrainConfig)


def test_unknown_key_lists_valid_keys():
    with pytest.raises(
        ConfigError, match=r"unknown config key 'lr_decay'; valid keys: .*clip_norm"
    ):
        from_dict(TrainConfig, {"lr_decay": 0.5})
    with pytest.raises(ConfigError, match=r"'hiden' in \[model\]; valid keys: cell, dropout"):
        from_dict(RunConfig, {"model": {"hiden": 3}})


def test_types_are_checked_and_converted():
    cfg = from_dict(
        RunConfig,
        {"model": {"dropout": 1, "hidden": 650}, "train": {"betas": [0.8, 0.9], "clip_norm": 5}},
    )
    assert cfg.model.dropout == 1.0 and isinstance(cfg.model.dropout, float)
    assert cfg.train.betas == (0.8, 0.9) and cfg.train.clip_norm == 5.0
    with pytest.raises(ConfigError, match=r"model\.hidden: expected an integer, got 'big'"):
        from_dict(RunConfig, {"model": {"hidden": "big"}})
    with pytest.raises(ConfigError, match=r"model\.cell: expected one of \['rnn', 'lstm', 'gru'\]"):
        from_dict(RunConfig, {"model": {"cell": "transformer"}})
    with pytest.raises(ConfigError, match="lr must be a finite number > 0"):
        from_dict(TrainConfig, {"lr": -1})


def test_to_dict_round_trip_is_json(tmp_path):
    cfg = RunConfig(train=TrainConfig(clip_norm=0.25, betas=(0.5, 0.6)))
    data = json.loads(json.dumps(to_dict(cfg)))
    assert from_dict(RunConfig, data) == cfg
    path = save_config(cfg, tmp_path / "run" / "config.json")
    assert from_dict(RunConfig, json.loads(path.read_text())) == cfg


def test_overrides_parse_field_types():
    cfg = apply_overrides(
        RunConfig(),
        [
            "train.lr=0.5",
            "train.epochs=3",
            "train.clip_norm=none",
            "train.deterministic=true",
            "train.betas=0.8,0.95",
            "train.schedule=cosine",
            "model.tie=yes",
            "name=ptb small",
            "model.dropout=0",
        ],
    )
    assert cfg.train.lr == 0.5 and cfg.train.epochs == 3 and cfg.train.clip_norm is None
    assert cfg.train.deterministic is True and cfg.train.betas == (0.8, 0.95)
    assert cfg.train.schedule == "cosine" and cfg.model.tie is True and cfg.name == "ptb small"
    assert cfg.model.dropout == 0.0 and isinstance(cfg.model.dropout, float)
    assert parse_value("[1, 2]", tuple[int, ...]) == (1, 2)


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.lrr=1", r"unknown config key 'train\.lrr'.*valid keys: .*lr,"),
        ("optim.lr=1", r"'optim' not in top level"),
        ("train.epochs=two", r"train\.epochs: expected an integer, got 'two'"),
        ("train.schedule=linear", r"expected one of \['none', 'step', 'plateau', 'cosine'\]"),
        ("train.lr=none", r"train\.lr: expected a number"),
        ("train", r"not of the form key=value"),
        ("model=3", r"model is a section"),
    ],
)
def test_bad_overrides(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(RunConfig(), [override])


def test_toml_then_overrides(tmp_path):
    path = tmp_path / "ptb-small.toml"
    path.write_text(
        'name = "ptb-small"\n[model]\nhidden = 200\n[train]\nlr = 1.0\nclip_norm = 5\n'
        'schedule = "step"\ndecay_start = 5\n'
    )
    cfg = load_config(RunConfig, path, ["train.lr=0.7"])
    assert cfg.name == "ptb-small" and cfg.train.clip_norm == 5.0 and cfg.train.lr == 0.7
    path.write_text("[train]\nlr = \n")
    with pytest.raises(ConfigError, match="ptb-small.toml: invalid TOML"):
        load_config(RunConfig, path)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(RunConfig, tmp_path / "missing.toml")


@settings(max_examples=50, deadline=None)
@given(
    lr=st.floats(min_value=1e-8, max_value=1e4, allow_nan=False),
    epochs=st.integers(min_value=1, max_value=10_000),
    clip=st.one_of(st.none(), st.floats(min_value=1e-6, max_value=1e3)),
)
def test_overrides_round_trip_any_value(lr, epochs, clip):
    cfg = apply_overrides(TrainConfig(), [f"lr={lr!r}", f"epochs={epochs}", f"clip_norm={clip}"])
    assert (cfg.lr, cfg.epochs, cfg.clip_norm) == (lr, epochs, clip)
