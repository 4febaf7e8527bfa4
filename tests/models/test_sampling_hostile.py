"""Hostile sampling arguments and non-finite models (issue 13): each is a ValueError that
names the argument or the tensors, raised before anything is sampled; and `rnnlab generate`
prints it without a traceback."""

from __future__ import annotations

import math

import pytest
import torch

from rnnlab.cli import main
from rnnlab.models import LanguageModel, LMConfig
from rnnlab.models.sampling import (
    NonFiniteModelError,
    check_sampling_args,
    filter_logits,
    generate,
)
from rnnlab.text.tokenize import WordTokenizer
from rnnlab.text.vocab import Vocabulary


def _setup():
    torch.manual_seed(0)
    vocab = Vocabulary(["the", "cat", "<eos>"], tokenizer=WordTokenizer.whitespace())
    cfg = LMConfig(vocab_size=len(vocab), embed_dim=4, hidden_size=4, num_layers=1)
    return LanguageModel(cfg), vocab


BAD_ARGS = [
    (dict(temperature=math.nan), r"temperature must be finite and >= 0 \(0 = greedy\), got nan"),
    (dict(temperature=math.inf), r"temperature must be finite and >= 0 .*got inf"),
    (dict(temperature=-0.5), r"temperature must be finite and >= 0 .*got -0.5"),
    (dict(temperature="1"), r"temperature must be a number >= 0, got '1'"),
    (dict(top_k=0), r"top_k must be an integer >= 1 \(or None for no cut\), got 0"),
    (dict(top_k=-3), r"top_k must be an integer >= 1 .*got -3"),
    (dict(top_k=2.5), r"top_k must be an integer >= 1 .*got 2.5"),
    (dict(top_p=0.0), r"top_p must be in \(0, 1\] \(or None for no cut\), got 0.0"),
    (dict(top_p=1.5), r"top_p must be in \(0, 1\] .*got 1.5"),
    (dict(top_p=-0.1), r"top_p must be in \(0, 1\] .*got -0.1"),
    (dict(top_p=math.nan), r"top_p must be in \(0, 1\] .*got nan"),
    (dict(max_tokens=0), r"max_tokens must be >= 1, got 0"),
    (dict(max_tokens=-5), r"max_tokens must be >= 1, got -5"),
    (dict(max_tokens=2.0), r"max_tokens must be an integer >= 1, got 2.0"),
    (dict(seed=2**64), r"seed must be an integer in \[-2\*\*63, 2\*\*64\), got 1844674"),
]


@pytest.mark.parametrize("kwargs,match", BAD_ARGS)
def test_bad_sampling_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_sampling_args(**kwargs)
    model, vocab = _setup()
    with pytest.raises(ValueError, match=match):
        generate(model, vocab, "the", **kwargs)


def test_filter_logits_refuses_what_generate_refuses():
    logits = torch.tensor([1.0, 2.0, 3.0])
    for kwargs in (dict(top_k=0), dict(temperature=math.nan), dict(top_p=2.0)):
        with pytest.raises(ValueError):
            filter_logits(logits, **kwargs)
    assert torch.isfinite(filter_logits(logits, top_k=10)).all()  # k > V keeps every token


def test_edge_values_that_are_allowed():
    model, vocab = _setup()
    greedy = generate(model, vocab, "the", max_tokens=5, temperature=0)
    assert greedy == generate(model, vocab, "the", max_tokens=5, temperature=0)
    assert len(generate(model, vocab, "the", max_tokens=1, top_k=1, top_p=1.0, seed=-1)) == 1


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_weights_name_the_tensor(value):
    model, vocab = _setup()
    with torch.no_grad():
        model.decoder.weight[1, 2] = value
    with pytest.raises(NonFiniteModelError, match=r"weights are not finite \(NaN or inf in "):
        generate(model, vocab, "the", max_tokens=3, seed=0)
    with pytest.raises(NonFiniteModelError, match=r"in decoder.weight\)"):
        generate(model, vocab, "the", max_tokens=3, temperature=0)


def test_overflowing_logits_are_a_clear_error():
    model, vocab = _setup()
    with torch.no_grad():  # every gate saturated open: h = tanh(c) > 0.7 in every unit
        for name, p in model.rnn.named_parameters():
            p.fill_(20.0 if name.startswith("bias_ih") else 0.0)
        model.decoder.weight.fill_(3e38)  # finite, but 4 * 0.7 * 3e38 overflows float32
    with pytest.raises(NonFiniteModelError, match=r"logits are not finite at sampled token 1"):
        generate(model, vocab, "the", max_tokens=3, seed=0)


@pytest.fixture
def fake_checkpoint(monkeypatch):
    """`rnnlab generate` on a model built here: ``load_model`` is replaced, so the test
    exercises the command's handling, whatever the checkpoint format."""
    from rnnlab.training import checkpoint

    model, vocab = _setup()
    calls = []

    def load_model(path, device="cpu"):
        calls.append(path)
        return model, vocab, {}

    monkeypatch.setattr(checkpoint, "load_model", load_model)
    return model, calls


CLI_BAD = [
    (["--temperature", "nan"], "temperature must be finite and >= 0"),
    (["--temperature", "inf"], "temperature must be finite and >= 0"),
    (["--temperature", "-1"], "temperature must be finite and >= 0"),
    (["--top-k", "0"], "top_k must be an integer >= 1"),
    (["--top-k", "-2"], "top_k must be an integer >= 1"),
    (["--top-p", "0"], "top_p must be in (0, 1]"),
    (["--top-p", "1.01"], "top_p must be in (0, 1]"),
    (["--max-tokens", "0"], "max_tokens must be >= 1"),
    (["--max-tokens", "-1"], "max_tokens must be >= 1"),
    (["--seed", str(2**70)], "seed must be an integer in [-2**63, 2**64)"),
]


@pytest.mark.parametrize("flags,message", CLI_BAD)
def test_generate_cli_refuses_bad_flags_before_loading(fake_checkpoint, capsys, flags, message):
    _, calls = fake_checkpoint
    assert main(["generate", "ckpt", "--prompt", "the", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab generate: ") and message in err and "Traceback" not in err
    assert calls == []  # refused before the checkpoint was read


def test_generate_cli_with_nan_weights_is_a_clear_error(fake_checkpoint, capsys):
    model, _ = fake_checkpoint
    with torch.no_grad():
        model.embedding.weight[0, 0] = math.nan
    assert main(["generate", "ckpt", "--prompt", "the", "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "rnnlab generate: the model's weights are not finite" in err
    assert "embedding.weight" in err and "the checkpoint is corrupt" in err
    assert main(["generate", "ckpt", "--prompt", "the", "--max-tokens", "2"]) == 2


def test_generate_cli_on_a_saved_checkpoint_with_nan_weights(tmp_path, capsys):
    from rnnlab.training.checkpoint import save_checkpoint

    model, vocab = _setup()
    with torch.no_grad():
        model.decoder.weight[0, 0] = math.nan
    path = save_checkpoint(tmp_path / "best", model, vocabs={"tokens": vocab})
    assert main(["generate", str(path), "--prompt", "the", "--seed", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab generate: ") and "not finite" in err
    assert "decoder.weight" in err and "Traceback" not in err
