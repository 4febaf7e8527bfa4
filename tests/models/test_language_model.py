"""LanguageModel: shapes, tying, dropout stacks, stateful truncated BPTT, the contract."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from rnnlab.models import LanguageModel, LMConfig
from rnnlab.text.lm_batching import LMBatch, LMBatches
from rnnlab.training.contract import StepOutput, check_model_contract
from rnnlab.training.registry import build_model

V = 30


def _model(**kw) -> LanguageModel:
    base = dict(vocab_size=V, embed_dim=12, hidden_size=16, num_layers=2)
    return LanguageModel(LMConfig(**{**base, **kw}))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "rnn_relu"])
def test_forward_shapes_and_state(cell):
    model = _model(cell=cell)
    tokens = torch.randint(0, V, (7, 3))  # (T, B)
    logits, state = model(tokens)
    assert logits.shape == (7, 3, V)
    h = state[0] if cell == "lstm" else state
    assert h.shape == (2, 3, 16)  # (L, B, H)
    check_model_contract(model)


def test_tied_weights_share_one_parameter_and_mismatch_is_a_clear_error():
    model = _model(embed_dim=16, tie_weights=True)
    assert model.decoder.weight is model.embedding.weight
    assert sum(p.numel() for p in model.parameters()) < sum(
        p.numel() for p in _model(embed_dim=16).parameters()
    )
    with pytest.raises(ValueError, match="embed_dim == the top layer's output size"):
        LMConfig(vocab_size=V, embed_dim=12, hidden_size=16, tie_weights=True)
    assert _model(embed_dim=8, proj_size=8, tie_weights=True).config.output_size == 8


def test_model_needs_a_vocabulary_size():
    with pytest.raises(ValueError, match="vocab_size >= 1"):
        LanguageModel(LMConfig())


def test_carrying_the_state_equals_one_long_forward():
    """Stateful truncated BPTT: two windows with the carried state == one long pass."""
    model = _model().eval()
    tokens = torch.randint(0, V, (12, 2))
    full, _ = model(tokens)
    first, state = model(tokens[:5])
    second, _ = model(tokens[5:], model.detach_state(state))
    torch.testing.assert_close(torch.cat([first, second]), full)


def test_locked_dropout_stack_equals_the_fused_stack_without_dropout():
    locked = _model(dropout=0.5, dropout_kind="locked", cell="gru")
    fused = _model(cell="gru")
    assert locked.layerwise and not fused.layerwise
    own = fused.state_dict()
    for name, value in locked.state_dict().items():  # layers.k.weight_ih_l0 -> rnn.weight_ih_lk
        if name.startswith("layers."):
            _, k, pname = name.split(".")
            name = f"rnn.{pname[:-1]}{k}"
        own[name] = value
    fused.load_state_dict(own)
    tokens = torch.randint(0, V, (6, 4))
    torch.testing.assert_close(locked.eval()(tokens)[0], fused.eval()(tokens)[0])
    a, b = locked.train()(tokens)[0], locked.train()(tokens)[0]
    assert not torch.equal(a, b)  # dropout active in training


def test_all_regularisers_together_train_and_are_off_in_eval():
    model = _model(
        dropout=0.3,
        dropout_kind="locked",
        embedding_dropout=0.1,
        weight_drop=0.2,
        embed_dim=16,
        tie_weights=True,
    )
    tokens = torch.randint(0, V, (5, 3))
    model.eval()
    torch.testing.assert_close(model(tokens)[0], model(tokens)[0])
    model.train()
    out = model.step(LMBatch(tokens, tokens), None)
    out.loss.backward()
    assert model.embedding.weight.grad is not None


def test_step_is_the_mean_cross_entropy_and_detach_cuts_the_graph():
    model = _model()
    inputs, targets = torch.randint(0, V, (2, 6, 4))  # two (T, B) tensors
    out = model.step(LMBatch(inputs, targets), model.initial_state(4))
    assert isinstance(out, StepOutput)
    logits, _ = model(inputs)
    expected = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
    torch.testing.assert_close(out.loss, expected)
    assert out.count == 24 and out.time_steps == 6
    h, c = model.detach_state(out.state)
    assert h.grad_fn is None and c.grad_fn is None and out.state[0].grad_fn is not None
    assert model.summarize({"loss": 2.0})["ppl"] == pytest.approx(7.389, rel=1e-3)


def test_state_shape_errors_name_the_expected_shape():
    model = _model()
    bad = (torch.zeros(2, 5, 16), torch.zeros(2, 5, 16))
    with pytest.raises(ValueError, match=r"\(2, 3, 16\)"):
        model(torch.zeros(4, 3, dtype=torch.long), bad)
    with pytest.raises(ValueError, match=r"\(T, B\)"):
        model(torch.zeros(4, dtype=torch.long))


def test_init_range_bounds_every_weight_and_keeps_forget_bias():
    model = _model(init_range=0.05, forget_bias=1.0)
    for name, p in model.named_parameters():
        if "bias" in name and "decoder" not in name:
            continue
        assert p.abs().max() <= 0.05, name
    assert torch.all(model.rnn.bias_ih_l0[16:32] == 1.0)
    assert torch.all(model.decoder.bias == 0)


def test_registry_rebuilds_the_model_from_its_config_dict():
    model = _model(cell="gru", dropout=0.2)
    rebuilt = build_model("language_model", dataclasses.asdict(model.config))
    assert isinstance(rebuilt, LanguageModel) and rebuilt.config == model.config


def test_a_small_model_learns_a_repeating_sequence():
    torch.manual_seed(0)
    model = LanguageModel(LMConfig(vocab_size=8, embed_dim=16, hidden_size=32, num_layers=1))
    stream = torch.tensor([2, 3, 4, 5, 6, 7] * 60)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(4):
        state = model.initial_state(4)
        for batch in LMBatches(stream, 4, 10):
            out = model.step(batch, state)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
            state = model.detach_state(out.state)
    assert out.loss.item() < 0.1


def test_trainer_trains_the_model_on_randomised_bptt_windows():
    from rnnlab.training import TrainConfig, Trainer

    model = _model()
    batches = LMBatches(torch.randint(0, V, (2000,)), 4, 12, random_bptt=True, bptt_std=3)
    result = Trainer(
        model, TrainConfig(optimizer="adam", lr=0.01, epochs=1, progress=False, clip_norm=1.0)
    ).fit(batches)
    assert result["steps"] >= 20 and result["train_ppl"] < V * 1.5
    assert model.initial_state(None) is None
