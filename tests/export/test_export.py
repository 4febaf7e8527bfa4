"""``rnnlab.export``: every format's outputs equal rnnlab's, for a language model and a
classifier, at batch and sequence sizes other than the ones the export traced with.

ATOL: exported vs rnnlab in fp32. The torch and TorchScript exports run the same kernels
as rnnlab's native path (measured difference 0); onnxruntime's own LSTM / GRU kernels
differ in rounding only (measured < 1e-7 on these sizes).
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
import torch
from export_toys import ToyClassifier, ToyClassifierConfig, import_file
from torch import nn

from rnnlab.export import ExportError, describe_model, export_model
from rnnlab.models import LanguageModel, LMConfig

ATOL = 1e-5
SIZES = [(5, 3), (9, 1), (1, 4)]  # (T, B); the export traces with (3, 2)

MODELS = {
    "lm-lstm": lambda: LanguageModel(LMConfig(vocab_size=40, embed_dim=8, hidden_size=8)),
    "lm-gru": lambda: LanguageModel(
        LMConfig(vocab_size=40, cell="gru", embed_dim=8, hidden_size=6, num_layers=3)
    ),
    "lm-rnn-relu": lambda: LanguageModel(
        LMConfig(vocab_size=40, cell="rnn_relu", embed_dim=8, hidden_size=6, num_layers=1)
    ),
    # layerwise stack (locked dropout), tied decoder, weight drop, embedding dropout: all
    # inactive at inference, so exported as one 2-layer nn.LSTM
    "lm-awd": lambda: LanguageModel(
        LMConfig(
            vocab_size=40,
            embed_dim=8,
            hidden_size=8,
            dropout=0.3,
            dropout_kind="locked",
            tie_weights=True,
            weight_drop=0.5,
            embedding_dropout=0.1,
        )  # fmt: skip
    ),
    "clf-lstm": lambda: ToyClassifier(ToyClassifierConfig()),
    "clf-bigru": lambda: ToyClassifier(
        ToyClassifierConfig(cell="gru", num_layers=2, bidirectional=True)
    ),
    # padded batches: each sequence's final state at its own last real step (packed)
    "clf-bilstm-lengths": lambda: ToyClassifier(
        ToyClassifierConfig(num_layers=2, bidirectional=True, with_lengths=True)
    ),
    "clf-rnn-lengths": lambda: ToyClassifier(ToyClassifierConfig(cell="rnn", with_lengths=True)),
    "clf-gru-wordemb": lambda: ToyClassifier(
        ToyClassifierConfig(cell="gru", word_embedding=True, with_lengths=True)
    ),
}


def make(name: str) -> nn.Module:
    torch.manual_seed(0)
    return MODELS[name]().eval()


def is_lm(model) -> bool:
    return isinstance(model, LanguageModel)


def inputs_for(model, T: int, B: int) -> tuple[torch.Tensor, ...]:
    """Random tokens and, for the language model, a random (nonzero) initial state."""
    g = torch.Generator().manual_seed(T * 100 + B)
    V = model.config.vocab_size
    if not is_lm(model):
        tokens = torch.randint(0, V, (B, T), generator=g)
        if not model.config.with_lengths:
            return (tokens,)
        lengths = torch.randint(1, T + 1, (B,), generator=g)  # unsorted
        lengths[B // 2] = T
        return tokens, lengths
    cfg = model.config
    tokens = torch.randint(0, V, (T, B), generator=g)
    h0 = torch.randn(cfg.num_layers, B, cfg.output_size, generator=g)
    if cfg.cell == "lstm":
        return tokens, h0, torch.randn(cfg.num_layers, B, cfg.hidden_size, generator=g)
    return tokens, h0


@torch.no_grad()
def rnnlab_outputs(model, inputs) -> list[torch.Tensor]:
    if not is_lm(model):
        return [model(*inputs)]
    state = tuple(inputs[1:]) if len(inputs) == 3 else inputs[1]
    logits, state = model(inputs[0], state)
    return [logits, *(state if isinstance(state, tuple) else (state,))]


def assert_close(got, expected) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        g = torch.as_tensor(g)
        assert g.shape == e.shape
        assert (g - e).abs().max() <= ATOL


def as_list(result) -> list[torch.Tensor]:
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize("name", list(MODELS))
def test_torch_export_is_plain_torch_and_equal(name, tmp_path, monkeypatch):
    model = make(name)
    out = export_model(model, to="torch", out=tmp_path / "export")
    source = (out / "model.py").read_text()
    assert "rnnlab" not in source.split('"""', 2)[2]  # nothing past the docstring names it
    monkeypatch.setitem(sys.modules, "rnnlab", None)  # any rnnlab import now fails
    net = import_file(out / "model.py").load()
    assert all(type(m).__module__.startswith("torch.nn") for m in net.children())
    for T, B in SIZES:
        x = inputs_for(model, T, B)
        with torch.no_grad():
            assert_close(as_list(net(*x)), rnnlab_outputs(model, x))
    if is_lm(model):  # the states default to zeros, as rnnlab's do
        tokens = inputs_for(model, 4, 2)[0]
        with torch.no_grad():
            assert_close(as_list(net(tokens))[:1], [model(tokens)[0]])


@pytest.mark.parametrize(
    "name", ["lm-lstm", "lm-gru", "lm-awd", "clf-bigru", "clf-bilstm-lengths", "clf-gru-wordemb"]
)
def test_torchscript_export_equal(name, tmp_path):
    model = make(name)
    path = export_model(model, to="torchscript", out=tmp_path / "model.pt")
    net = torch.jit.load(str(path))
    assert isinstance(net, torch.jit.ScriptModule)
    for T, B in SIZES:
        x = inputs_for(model, T, B)
        with torch.no_grad():
            assert_close(as_list(net(*x)), rnnlab_outputs(model, x))


@pytest.mark.parametrize("name", list(MODELS))
def test_onnx_export_equal_in_onnxruntime(name, tmp_path):
    pytest.importorskip("onnx", reason="onnx is not installed")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    model = make(name)
    path = export_model(model, to="onnx", out=tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path))
    names = [i.name for i in session.get_inputs()]
    if is_lm(model):
        assert names == ["tokens", "h0", "c0"][: 3 if model.config.cell == "lstm" else 2]
    else:
        assert names == ["tokens", "lengths"][: 2 if model.config.with_lengths else 1]
    for T, B in SIZES:
        x = inputs_for(model, T, B)
        got = session.run(None, {n: t.numpy() for n, t in zip(names, x)})
        assert_close([torch.from_numpy(g) for g in got], rnnlab_outputs(model, x))


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_projected_lstm_exports_to_torch_not_onnx(tmp_path):
    torch.manual_seed(0)
    model = LanguageModel(LMConfig(vocab_size=20, embed_dim=4, hidden_size=8, proj_size=4)).eval()
    net = import_file(export_model(model, to="torch", out=tmp_path / "t") / "model.py").load()
    x = inputs_for(model, 5, 3)
    with torch.no_grad():
        assert_close(as_list(net(*x)), rnnlab_outputs(model, x))
    with pytest.raises(ExportError, match="projection"):
        export_model(model, to="onnx", out=tmp_path / "m.onnx")


def test_onnx_without_the_onnx_package_says_what_to_install(tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnx" else find_spec(name, *a),
    )
    with pytest.raises(ExportError, match="needs the onnx package: pip install onnx"):
        export_model(make("lm-gru"), to="onnx", out=tmp_path / "m.onnx")


@pytest.mark.parametrize(
    "config,message",
    [
        (ToyClassifierConfig(cell="gru", variant="original"), r"variant='original'.*scratch-only"),
        (ToyClassifierConfig(layer_norm=True), "LayerNormLSTM is scratch-only"),
    ],
)
def test_scratch_only_layers_are_refused(config, message, tmp_path):
    model = ToyClassifier(config)
    with pytest.raises(ExportError, match=message):
        export_model(model, to="torch", out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_an_embedding_with_max_norm_is_refused():
    model = make("clf-lstm")
    model.embedding.max_norm = 1.0
    with pytest.raises(ExportError, match="max_norm"):
        describe_model(model)


def test_unknown_models_and_formats_are_refused(tmp_path):
    with pytest.raises(ExportError, match="Linear cannot be exported: it has no export_spec"):
        describe_model(nn.Linear(2, 3))
    with pytest.raises(ExportError, match="to must be one of"):
        export_model(make("clf-lstm"), to="tflite", out=tmp_path / "x")
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match="expected --out to be a directory"):
        export_model(make("clf-lstm"), to="torch", out=tmp_path / "file")


def test_export_does_not_change_the_model(tmp_path):
    model = make("lm-awd").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export_model(model, to="torch", out=tmp_path / "x")
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
