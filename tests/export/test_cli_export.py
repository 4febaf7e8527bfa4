"""``rnnlab export CKPT --to ... --out ...``: thin over ``rnnlab.export.export_model``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from export_toys import ToyClassifier, ToyClassifierConfig, import_file

from rnnlab.cli import export as cli_export
from rnnlab.cli import main
from rnnlab.export import FORMATS
from rnnlab.models import LanguageModel, LMConfig
from rnnlab.text import build_vocab
from rnnlab.training import load_model, save_checkpoint


@pytest.fixture
def lm_checkpoint(tmp_path):
    torch.manual_seed(0)
    vocab = build_vocab(["the cat sat on the mat", "a dog ran"])
    model = LanguageModel(LMConfig(vocab_size=len(vocab), embed_dim=6, hidden_size=6))
    return save_checkpoint(tmp_path / "ckpt", model, vocab=vocab)


def test_export_torch_from_a_checkpoint(lm_checkpoint, tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["export", str(lm_checkpoint), "--to", "torch", "--out", str(out)]) == 0
    assert "tokens, h0, c0 -> logits, h_n, c_n" in capsys.readouterr().out
    model, vocab, _ = load_model(lm_checkpoint)
    assert json.loads((out / "vocab.json").read_text()) == vocab.to_dict()
    info = json.loads((out / "export.json").read_text())
    assert info["source"] == str(lm_checkpoint) and info["inputs"] == ["tokens", "h0", "c0"]
    net = import_file(out / "model.py").load()
    tokens = torch.randint(0, len(vocab), (7, 2))
    with torch.no_grad():
        assert (net(tokens)[0] - model(tokens)[0]).abs().max() <= 1e-5


def test_export_onnx_from_a_checkpoint(lm_checkpoint, tmp_path):
    pytest.importorskip("onnx", reason="onnx is not installed")
    out = tmp_path / "lm.onnx"
    assert main(["export", str(lm_checkpoint), "--to", "onnx", "--out", str(out)]) == 0
    assert out.is_file() and (tmp_path / "lm.onnx.vocab.json").is_file()
    assert json.loads((tmp_path / "lm.onnx.json").read_text())["dynamic_axes"]["tokens"] == {
        "0": "time",
        "1": "batch",
    }


def test_scratch_only_model_is_refused_with_a_message(tmp_path, capsys):
    model = ToyClassifier(ToyClassifierConfig(cell="gru", variant="original"))
    ckpt = save_checkpoint(tmp_path / "ckpt", model)
    rc = main(["export", str(ckpt), "--to", "torchscript", "--out", str(tmp_path / "m.pt")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("rnnlab export: cannot export recurrent layer 0")
    assert "scratch-only" in err and "Traceback" not in err


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    rc = main(["export", str(tmp_path / "nope"), "--to", "torch", "--out", str(tmp_path / "x")])
    assert rc == 2 and capsys.readouterr().err.startswith("rnnlab export: ")


def test_unknown_format_is_an_argument_error(tmp_path):
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path), "--to", "tflite", "--out", str(tmp_path / "x")])


def test_cli_formats_are_the_librarys():
    assert cli_export.FORMATS == FORMATS


V1 = Path(__file__).resolve().parents[1] / "data" / "v1-checkpoint"


@pytest.mark.parametrize("to", ["torch", "onnx"])
def test_a_real_checkpoint_exports_to_its_recorded_logits(to, tmp_path):
    """tests/data/v1-checkpoint: a checkpoint written by earlier rnnlab code, with the logits
    that code computed; the export must reproduce them."""
    if to == "onnx":
        pytest.importorskip("onnx", reason="onnx is not installed")
        ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    expected = json.loads((V1 / "expected.json").read_text())
    tokens = torch.tensor(expected["ids"]).unsqueeze(1)  # (T, 1)
    out = tmp_path / ("export" if to == "torch" else "lm.onnx")
    assert main(["export", str(V1 / "best"), "--to", to, "--out", str(out)]) == 0
    if to == "torch":
        with torch.no_grad():
            logits = import_file(out / "model.py").load()(tokens)[0]
    else:
        h0 = torch.zeros(1, 1, 8).numpy()
        feeds = {"tokens": tokens.numpy(), "h0": h0, "c0": h0}
        logits = torch.from_numpy(ort.InferenceSession(str(out)).run(None, feeds)[0])
    want = torch.tensor(expected["logits"]).view(logits.shape)
    assert (logits - want).abs().max() <= 1e-5
