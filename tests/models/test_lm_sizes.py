"""LMConfig refuses wrong types and values; a model too large for the machine is refused
before anything is allocated, with its parameter count and memory (issue 13)."""

from __future__ import annotations

import math
import time

import pytest

from rnnlab.models import size
from rnnlab.models.language_model import LanguageModel, LMConfig
from rnnlab.models.size import (
    ModelTooLargeError,
    check_fits_in_memory,
    lm_parameter_count,
    physical_memory_bytes,
)


@pytest.mark.parametrize(
    "changes",
    [
        dict(cell="lstm"),
        dict(cell="gru", num_layers=3),
        dict(cell="rnn", num_layers=1),
        dict(cell="rnn_relu", embed_dim=7),
        dict(cell="lstm", proj_size=5, embed_dim=5, tie_weights=True),
        dict(cell="lstm", hidden_size=12, embed_dim=12, tie_weights=True),
        dict(cell="gru", dropout_kind="locked", dropout=0.2, num_layers=3),  # layerwise
    ],
)
def test_parameter_count_equals_the_built_model(changes):
    cfg = LMConfig(vocab_size=23, embed_dim=6, hidden_size=12, num_layers=2).replace(**changes)
    model = LanguageModel(cfg)
    assert lm_parameter_count(cfg) == sum(p.numel() for p in model.parameters())


def test_physical_memory_is_read():
    memory = physical_memory_bytes()
    assert memory is None or memory > 2**26  # some bytes, if the platform says


def test_check_fits_in_memory_bound_and_message():
    check_fits_in_memory(500, memory_bytes=4000)  # 2000 bytes == half: allowed
    with pytest.raises(ModelTooLargeError) as err:
        check_fits_in_memory(501, what="the toy", memory_bytes=4000)
    message = str(err.value)
    assert "the toy would have 501 parameters" in message
    assert "0.0 GB at 4 bytes each" in message and "50% of this machine's 0.0 GB" in message
    assert isinstance(err.value, ValueError)  # the CLI's handlers catch ValueError


def test_huge_model_is_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(size, "physical_memory_bytes", lambda: 16 * 10**9)
    cfg = LMConfig(vocab_size=10_000, hidden_size=100_000)
    start = time.perf_counter()
    with pytest.raises(ModelTooLargeError) as err:
        LanguageModel(cfg)
    assert time.perf_counter() - start < 1.0  # refused, not allocated
    message = str(err.value)
    assert f"would have {lm_parameter_count(cfg):,} parameters" in message
    assert "484.3 GB at 4 bytes each" in message and "16.0 GB of memory" in message
    assert "H=100000" in message


@pytest.mark.parametrize(
    "changes,match",
    [
        (dict(hidden_size=2.5), r"hidden_size must be an integer, got float 2.5"),
        (dict(embed_dim=True), r"embed_dim must be an integer, got bool True"),
        (dict(num_layers="2"), r"num_layers must be an integer, got str '2'"),
        (dict(vocab_size=None), r"vocab_size must be an integer, got NoneType"),
        (dict(proj_size=1.0), r"proj_size must be an integer, got float 1.0"),
        (dict(hidden_size=0), r"hidden_size must be >= 1, got 0"),
        (dict(embed_dim=-4), r"embed_dim must be >= 1, got -4"),
        (dict(num_layers=0), r"num_layers must be >= 1, got 0"),
        (dict(vocab_size=-1), r"vocab_size must be >= 0, got -1"),
        (dict(proj_size=-2), r"proj_size must be >= 0, got -2"),
        (dict(dropout=math.nan), r"dropout must be finite, got nan"),
        (dict(weight_drop=math.inf), r"weight_drop must be finite, got inf"),
        (dict(dropout_hidden="0.1"), r"dropout_hidden must be a number, got str"),
        (dict(embedding_dropout=1.0), r"embedding_dropout must be in \[0, 1\), got 1.0"),
        (dict(forget_bias=-math.inf), r"forget_bias must be finite, got -inf"),
        (dict(init_range=0.0), r"init_range must be > 0 or None, got 0.0"),
        (dict(init_range=math.nan), r"init_range must be finite, got nan"),
        (dict(tie_weights="yes"), r"tie_weights must be true or false, got 'yes'"),
        (dict(backend="fast"), r"backend must be one of \('auto', 'scratch', 'native', 'fused'\)"),
        (dict(cell=3), r"cell must be a string, got 3"),
    ],
)
def test_lm_config_refuses_wrong_types_and_values(changes, match):
    with pytest.raises(ValueError, match=r"invalid LMConfig: .*" + match):
        LMConfig(**changes)


def test_lm_config_lists_every_type_error_at_once():
    with pytest.raises(ValueError) as err:
        LMConfig(hidden_size=2.5, embed_dim="x", dropout=math.nan)
    assert str(err.value).count(";") == 2


def test_forward_refuses_ids_outside_the_vocabulary_and_empty_windows():
    import torch

    model = LanguageModel(LMConfig(vocab_size=5, embed_dim=4, hidden_size=4, num_layers=1))
    for ids in ([[7, 1]], [[-1, 0]]):
        with pytest.raises(ValueError, match=r"expected token ids in \[0, 5\) .*got ids from"):
            model(torch.tensor(ids))
    for shape in ((0, 2), (3, 0)):
        with pytest.raises(ValueError, match=r"expected tokens \(T, B\) with T, B >= 1, got"):
            model(torch.zeros(shape, dtype=torch.long))
    logits, _ = model(torch.tensor([[4, 0]]))  # the edges are fine
    assert logits.shape == (1, 2, 5)


def test_parameter_count_with_a_top_layer_of_another_size():
    cfg = LMConfig(vocab_size=17, embed_dim=5, hidden_size=9, num_layers=3, top_hidden_size=5)
    model = LanguageModel(cfg.replace(tie_weights=True))
    assert lm_parameter_count(model.config) == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match=r"top_hidden_size must be an integer, got float"):
        cfg.replace(top_hidden_size=5.5)
    with pytest.raises(ValueError, match=r"ar_alpha must be finite, got nan"):
        cfg.replace(ar_alpha=math.nan)
