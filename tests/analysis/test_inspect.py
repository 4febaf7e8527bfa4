"""`rnnlab inspect`: gates and gradient flow of a saved LanguageModel on one text."""

from __future__ import annotations

import json

import pytest
import torch

from rnnlab.analysis.inspection import inspect_input
from rnnlab.cli import main
from rnnlab.models.language_model import LanguageModel, LMConfig
from rnnlab.text.vocab import Vocabulary
from rnnlab.training.checkpoint import save_checkpoint


def _lm(cell="lstm", num_layers=2):
    torch.manual_seed(0)
    vocab = Vocabulary("the cat sat on a mat".split())
    cfg = LMConfig(
        vocab_size=len(vocab),
        cell=cell,
        embed_dim=6,
        hidden_size=5,
        num_layers=num_layers,
        forget_bias=1.0 if cell == "lstm" else None,
    )
    return LanguageModel(cfg).eval(), vocab


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_inspect_input_replays_the_models_layers(cell):
    model, vocab = _lm(cell)
    ids = vocab.encode("the cat sat on the mat")
    result = inspect_input(model, ids)
    (layer,) = result["layers"]
    assert layer["name"] == "rnn" and len(layer["records"]) == 2
    top = layer["records"][-1]["h"]  # (T, 1, H)
    with torch.no_grad():
        out, _ = model.rnn(model.embedding(torch.tensor(ids)[:, None]))
    torch.testing.assert_close(top, out)
    assert len(result["gradients"]["h"]) == len(ids)
    assert ("c" in result["gradients"]) == (cell == "lstm")
    assert "most likely next output" in result["loss"]


def test_cli_writes_heatmaps_gradient_plot_and_json(tmp_path, capsys):
    model, vocab = _lm("lstm", num_layers=1)
    ckpt = save_checkpoint(tmp_path / "best", model, vocabs={"tokens": vocab})
    out = tmp_path / "inspect"
    assert main(["inspect", str(ckpt), "--text", "the cat sat on a zebra", "--out", str(out)]) == 0
    assert (out / "gates_rnn_0.png").stat().st_size > 1000
    assert (out / "gradient_flow.png").stat().st_size > 1000
    data = json.loads((out / "inspect.json").read_text())
    assert data["tokens"][-1] == "zebra" and data["unknown_tokens"] == ["zebra"]
    assert set(data["layers"][0]["saturation"][0]) == {"i", "f", "g", "o"}
    assert "6 tokens" in capsys.readouterr().out
