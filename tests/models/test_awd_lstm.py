"""What AWD-LSTM needs from the language model (a smaller top layer, AR / TAR) and the
``ptb-awd`` named config, run for a few steps on CPU."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rnnlab.models.activation_regularisation import PENALTY_SUM, activation_penalty
from rnnlab.models.language_model import LanguageModel, LMConfig
from rnnlab.models.lm_training import LMRunConfig, train_lm
from rnnlab.training.config import apply_overrides, from_dict, load_toml
from rnnlab.training.runs import config_path

V, T, B = 11, 5, 2


def _model(**kw) -> LanguageModel:
    cfg = dict(vocab_size=V, embed_dim=4, hidden_size=6, top_hidden_size=4, num_layers=3)
    return LanguageModel(LMConfig(**{**cfg, **kw}))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_top_layer_of_its_own_size_carries_per_layer_states(cell):
    model = _model(cell=cell, tie_weights=True)
    assert [layer.hidden_size for layer in model.layers] == [6, 6, 4]
    assert [layer.input_size for layer in model.layers] == [4, 6, 6]
    assert model.decoder.weight is model.embedding.weight
    tokens = torch.randint(V, (T, B))
    logits, state = model(tokens)  # (T, B, V)
    assert logits.shape == (T, B, V) and len(state) == 3
    h_top = state[2][0] if cell == "lstm" else state[2]
    assert h_top.shape == (1, B, 4)
    # carrying the state equals running the two halves as one sequence
    first, state_1 = model(tokens[:2])
    second, _ = model(tokens[2:], model.detach_state(state_1))
    torch.testing.assert_close(torch.cat([first, second]), logits)
    with pytest.raises(ValueError, match="per-layer states h of shapes"):
        model(tokens, model.initial_state(B + 1))


def test_top_hidden_size_needs_layers_and_no_projection():
    with pytest.raises(ValueError, match="top_hidden_size needs num_layers >= 2"):
        LMConfig(vocab_size=V, hidden_size=6, top_hidden_size=4, num_layers=1)
    with pytest.raises(ValueError, match="top_hidden_size needs num_layers >= 2"):
        LMConfig(vocab_size=V, hidden_size=6, top_hidden_size=4, proj_size=3)
    assert LMConfig(hidden_size=6, top_hidden_size=6).output_size == 6  # same size: no-op


def test_ar_tar_are_added_in_training_and_taken_out_of_the_reported_loss():
    model = _model(ar_alpha=2.0, tar_beta=1.0)  # no dropout: two passes see the same numbers
    tokens, targets = torch.randint(V, (T, B)), torch.randint(V, (T, B))
    logits, _, raw, dropped = model._forward(tokens, None)  # raw, dropped (T, B, 4)
    ce = F.cross_entropy(logits.view(-1, V), targets.view(-1)).detach()
    expected = (2.0 * raw.pow(2).mean() + 1.0 * (raw[1:] - raw[:-1]).pow(2).mean()).detach()
    torch.testing.assert_close(activation_penalty(raw, dropped, 2.0, 1.0).detach(), expected)
    out = model.step((tokens, targets), None)
    torch.testing.assert_close(out.loss.detach(), (ce + expected).detach())
    assert out.sums[PENALTY_SUM] == pytest.approx(float(expected) * T * B)
    totals = {"loss_sum": float(out.loss.detach()) * out.count, "count": out.count, **out.sums}
    metrics = model.summarize({**totals, "loss": totals["loss_sum"] / out.count})
    assert metrics["loss"] == pytest.approx(float(ce))
    assert metrics["ppl"] == pytest.approx(math.exp(float(ce)))
    assert metrics["penalty"] == pytest.approx(float(expected))
    model.eval()  # evaluation: the plain cross-entropy, no penalty statistic
    out = model.step((tokens, targets), None)
    torch.testing.assert_close(out.loss.detach(), ce.detach())
    assert out.sums is None


def _awd_config() -> LMRunConfig:
    raw = load_toml(config_path("ptb-awd"))
    assert next(iter(raw)) == "task" and raw.pop("task") == "lm"
    return from_dict(LMRunConfig, raw)


def test_ptb_awd_is_the_papers_recipe():
    cfg = _awd_config()
    m, d, t = cfg.model, cfg.data, cfg.train
    assert (m.cell, m.embed_dim, m.output_size) == ("lstm", 400, 400)
    assert m.hidden_sizes == (1150, 1150, 400)
    assert m.tie_weights and m.weight_drop == 0.5 and m.embedding_dropout == 0.1
    assert (m.dropout_kind, m.p_input, m.p_hidden, m.dropout) == ("locked", 0.4, 0.25, 0.4)
    assert (m.ar_alpha, m.tar_beta) == (2.0, 1.0)
    assert (d.dataset, d.batch_size, d.bptt, d.random_bptt) == ("ptb", 20, 70, True)
    assert (t.optimizer, t.lr, t.clip_norm, t.weight_decay) == ("nt_asgd", 30.0, 0.25, 1.2e-6)
    assert t.nonmono == 5 and t.scale_lr_by_window and t.momentum == 0
    model = LanguageModel(m.replace(vocab_size=10_000))
    params = sum(p.numel() for p in model.parameters())
    assert 24_000_000 < params < 24_300_000  # AWD-LSTM on PTB: 24M parameters


def test_ptb_awd_smoke_a_few_steps_on_cpu():
    """The whole recipe (weight drop, locked and embedding dropout, AR / TAR, random bptt,
    tying, the 400-unit top layer) for three steps, at toy sizes on the embedded corpus."""
    small = apply_overrides(
        _awd_config(),
        [
            "data.dataset=hmm", "data.hmm_train_tokens=1500", "data.hmm_eval_tokens=300",
            "data.bptt=6", "model.embed_dim=8", "model.hidden_size=12", "model.top_hidden_size=8",
            "train.max_steps=3", "train.epochs=1", "train.progress=false",
        ],
    )  # fmt: skip
    result = train_lm(small, None, log=lambda *a: None)
    assert result["steps"] == 3 and result["stop_reason"] == "max_steps"
    assert result["train_penalty"] > 0
    assert result["asgd_start_epoch"] is None  # one epoch: NT-ASGD cannot have switched
    assert math.isfinite(result["test_ppl"]) and result["test_ppl"] < 2 * result["vocab_size"]
    model = result["_model"]
    assert [layer.weight_drop for layer in model.layers] == [0.5] * 3
