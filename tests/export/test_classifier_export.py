"""rnnlab's own SequenceClassifier exports (torch, TorchScript, ONNX) with every pooling and
an MLP head, and each export equals the model on padded batches of mixed lengths."""

from __future__ import annotations

import pytest
import torch

from rnnlab.export import export_model
from rnnlab.models.classifier import ClassifierConfig, SequenceClassifier


def _classifier(pooling, mlp_hidden, cell, bidirectional):
    torch.manual_seed(0)
    cfg = ClassifierConfig(
        vocab_size=20, num_classes=3, embed_dim=6, hidden_size=5, num_layers=2, cell=cell,
        bidirectional=bidirectional, pooling=pooling, mlp_hidden=mlp_hidden,
    )  # fmt: skip
    return SequenceClassifier(cfg).eval()


def _batch(B=4, T=7):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 20, (B, T), generator=g)
    lengths = torch.tensor([7, 3, 5, 1][:B])
    for b, n in enumerate(lengths.tolist()):
        ids[b, n:] = 0
    return ids, lengths


@pytest.mark.parametrize(
    "pooling, mlp_hidden, cell, bidirectional",
    [
        ("last", 0, "lstm", True),
        ("mean", 8, "gru", True),
        ("max", 0, "lstm", False),
        ("max+mean", 8, "lstm", True),
        ("last+max+mean", 0, "rnn", True),
    ],
)
@pytest.mark.parametrize("to", ["torch", "torchscript", "onnx"])
def test_classifier_exports_equal_the_model(tmp_path, pooling, mlp_hidden, cell, bidirectional, to):
    if to == "onnx":
        pytest.importorskip("onnxruntime")
    model = _classifier(pooling, mlp_hidden, cell, bidirectional)
    ids, lengths = _batch()
    with torch.no_grad():
        want = model(ids, lengths)  # (B, C)
    out = tmp_path / f"clf.{'onnx' if to == 'onnx' else to}"
    export_model(model, to=to, out=out)
    if to == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        got = torch.from_numpy(
            session.run(None, {names[0]: ids.numpy(), names[1]: lengths.numpy()})[0]
        )
    elif to == "torchscript":
        net = torch.jit.load(str(out))
        got = net(ids, lengths)
    else:
        import importlib.util
        import sys

        spec = importlib.util.spec_from_file_location("exported_clf", out / "model.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["exported_clf"] = module
        spec.loader.exec_module(module)
        got = module.load(str(out))(ids, lengths)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
