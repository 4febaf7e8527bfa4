"""Instruments and classic experiments for recurrent networks. They return data; the
figures are drawn by ``rnnlab.plotting.analysis`` and the commands live in
``rnnlab experiment`` and ``rnnlab inspect``.

    unroll.py         replay any torch-layout RNN/LSTM/GRU step by step (the engine)
    gates.py          record gates and states per step; saturation statistics
    gradient_flow.py  ||dL/dh_t||, ||dh_T/dh_t||, decay rates, LSTM cell-path check
    gradient_flow_experiment.py  all of them at initialisation; the spectral-radius sweep
    callbacks.py      GradientFlowCallback for the Trainer
    inspection.py     gates and gradient flow of any model on one input (rnnlab inspect)
    tasks.py          seeded synthetic tasks (copy, recall, parity, mean sign, adding)
    forget_bias.py    LSTMClassifier, train_and_evaluate, the forget-bias experiment
    clipping.py       exploding gradients, norm vs value clipping, NaN/inf guard
    compare_cells.py  RNN vs LSTM vs GRU, measured
    stats.py          bootstrap intervals, permutation test, effect sizes, verdicts
    sweep.py          sequence-length sweeps over seeds with a fixed budget; edges
    long_sequence.py  the notes' T = 20,000 / 10,000 experiments
Names are imported lazily (no torch work at import time).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "layer_spec": "rnnlab.analysis.unroll",
    "record_gates": "rnnlab.analysis.gates",
    "record_lstm": "rnnlab.analysis.gates",
    "record_gru": "rnnlab.analysis.gates",
    "record_rnn": "rnnlab.analysis.gates",
    "saturation": "rnnlab.analysis.gates",
    "state_gradient_norms": "rnnlab.analysis.gradient_flow",
    "jacobian_norms": "rnnlab.analysis.gradient_flow",
    "decay_rate": "rnnlab.analysis.gradient_flow",
    "cell_path_check": "rnnlab.analysis.gradient_flow",
    "matrix_power_norms": "rnnlab.analysis.gradient_flow",
    "gradient_flow_experiment": "rnnlab.analysis.gradient_flow_experiment",
    "GradientFlowCallback": "rnnlab.analysis.callbacks",
    "TASKS": "rnnlab.analysis.tasks",
    "generate_first_token_copy_data": "rnnlab.analysis.tasks",
    "LSTMClassifier": "rnnlab.analysis.forget_bias",
    "train_and_evaluate": "rnnlab.analysis.forget_bias",
    "forget_bias_experiment": "rnnlab.analysis.forget_bias",
    "NonFiniteError": "rnnlab.analysis.clipping",
    "train_with_clipping": "rnnlab.analysis.clipping",
    "clipping_experiment": "rnnlab.analysis.clipping",
    "compare_cells_experiment": "rnnlab.analysis.compare_cells",
    "markdown_table": "rnnlab.analysis.compare_cells",
    "SequenceModel": "rnnlab.analysis.models",
    "inspect_input": "rnnlab.analysis.inspection",
    "compare": "rnnlab.analysis.stats",
    "summarize": "rnnlab.analysis.stats",
    "Budget": "rnnlab.analysis.sweep",
    "Condition": "rnnlab.analysis.sweep",
    "length_sweep": "rnnlab.analysis.sweep",
    "compare_models_on_long_sequence": "rnnlab.analysis.long_sequence",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rnnlab.analysis' has no attribute {name!r}")
