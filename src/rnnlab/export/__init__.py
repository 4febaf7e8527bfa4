"""Export rnnlab models for deployment: a plain torch.nn module, TorchScript or ONNX.

    from rnnlab.export import export_model
    export_model(model, to="onnx", out="lm.onnx")

``spec`` says what is exportable (embedding -> RNN/LSTM/GRU -> linear; a model describes
itself with ``export_spec()``), ``torch_source`` writes the torch.nn-only model file, and
``formats`` the three formats. The command line: ``rnnlab export CKPT --to FORMAT --out PATH``.
"""

from rnnlab.export.formats import FORMATS, example_inputs, export_model, io_names
from rnnlab.export.spec import ExportError, ExportSpec, describe_model
from rnnlab.export.torch_source import build_plain_module

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportSpec",
    "build_plain_module",
    "describe_model",
    "example_inputs",
    "export_model",
    "io_names",
]
