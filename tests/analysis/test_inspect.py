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


def test_cli_writes_titled_heatmaps_to_its_own_folder_and_warns(tmp_path, capsys, monkeypatch):
    model, vocab = _lm("lstm", num_layers=1)
    ckpt = save_checkpoint(
        tmp_path / "run" / "checkpoints" / "best", model, vocabs={"tokens": vocab}
    )
    monkeypatch.chdir(tmp_path)
    metrics = tmp_path / "m.json"
    argv = ["inspect", str(ckpt), "--text", "the cat sat on a zebra", "--metrics-out", str(metrics)]
    assert main(argv) == 0
    out = tmp_path / "runs" / "inspect" / "run"  # its own folder, named after the run
    assert not (ckpt / "inspect").exists()
    assert (out / "gates_rnn_lstm_l0.png").stat().st_size > 1000
    assert (out / "gradient_flow.png").stat().st_size > 1000 and (out / "report.html").is_file()
    data = json.loads((out / "inspect.json").read_text())
    assert data["tokens"][-1] == "zebra" and data["unknown_tokens"] == ["zebra"]
    assert set(data["layers"][0]["saturation"][0]) == {"i", "f", "g", "o"}
    printed = capsys.readouterr()
    assert "warning: not in the vocabulary, read as <UNK>: 'zebra'" in printed.err
    g = data["gradients"]["h"]
    assert f"is {g[-1]:.2e} at the last token" in printed.out
    assert f"and {g[0]:.2e} at the first, 5 steps earlier" in printed.out
    flat = json.loads(metrics.read_text())
    assert flat["tokens"] == 6 and flat["unknown_tokens"] == 1 and flat["dL_dh_first"] == g[0]
    assert "saturation_rnn_0_f_high" in flat


def test_heatmap_title_names_model_layer_and_units_and_c_is_not_clipped(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from rnnlab.plotting import analysis as plots

    T, H = 4, 3
    record = {n: torch.full((T, 1, H), 0.5) for n in ("i", "f", "g", "o", "h")}
    record["c"] = torch.linspace(-3.0, 3.0, T * H).reshape(T, 1, H)
    seen = {}
    real_save = plots._save

    def keep(fig, path):
        seen["title"] = fig._suptitle.get_text()
        c_axes = next(ax for ax in fig.axes if ax.get_ylabel() == "c\nunit")
        seen["c_limits"] = c_axes.images[0].get_clim()
        return real_save(fig, path)

    plots._save = keep
    try:
        plots.plot_gate_heatmap(record, list("abcd"), tmp_path / "g.png", title="LM: layer rnn 0")
    finally:
        plots._save = real_save
    assert seen["title"] == "LM: layer rnn 0"
    assert seen["c_limits"] == (-3.0, 3.0)
    plt.close("all")


def test_max_units_zero_is_an_error(tmp_path, capsys):
    model, vocab = _lm("gru", num_layers=1)
    ckpt = save_checkpoint(tmp_path / "best", model, vocab=vocab)
    with pytest.raises(SystemExit):
        main(["inspect", str(ckpt), "--text", "the cat", "--max-units", "0"])
    assert "expected at least 1 unit per heat map, got 0" in capsys.readouterr().err
