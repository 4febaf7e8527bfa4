"""The gradient-flow experiment: every instrument of ``rnnlab.analysis.gradient_flow`` at
initialisation, for each cell and length, plus the spectral-radius sweep of a tanh RNN and
the LSTM cell-path check (course notes 004: powers of W_hh, the forget-gate product).

``gradient_flow_experiment`` returns data; ``finding`` states it in one computed sentence.
"""

from __future__ import annotations

import torch

from rnnlab.analysis.gradient_flow import (
    cell_path_check,
    decay_rate,
    float64_layer,
    jacobian_norms,
    matrix_power_norms,
    state_gradient_norms,
)
from rnnlab.analysis.models import set_spectral_radius

__all__ = ["gradient_flow_experiment", "finding"]


def gradient_flow_experiment(
    cells: tuple[str, ...] = ("rnn", "lstm", "gru"),
    lengths: tuple[int, ...] = (10, 30, 100, 300, 1000),
    hidden_size: int = 32,
    input_size: int = 8,
    batch_size: int = 8,
    forget_bias: float | None = 1.0,
    radii: tuple[float, ...] = (0.5, 0.9, 1.0, 1.1, 1.5, 2.0, 3.0),
    radius_seq_len: int = 100,
    seed: int = 0,
) -> dict:
    """Gradient flow at initialisation for each cell and length, the LSTM cell-path check,
    and the effect of W_hh's spectral radius on a tanh RNN. Layers are float64, inputs
    x ~ N(0, 1) (seeded); each cell's layer is the same across lengths.

    Returns:
        {"config": {...},
         "flow": [{cell, seq_len, dL_dh: [T], dh_T_dh_t: [T], dL_dc: [T] (LSTM), decay,
                   jacobian_decay}],
         "cell_path": {seq_len, product_norm: [T], measured_norm: [T], max_abs_difference,
                       max_off_diagonal},
         "spectral": [{radius, jacobian: [T], power_norms: [T], decay}]}
    """
    config = dict(
        cells=list(cells),
        lengths=list(lengths),
        hidden_size=hidden_size,
        input_size=input_size,
        batch_size=batch_size,
        forget_bias=forget_bias,
        radii=list(radii),
        radius_seq_len=radius_seq_len,
        seed=seed,
    )
    g = torch.Generator().manual_seed(seed)
    inputs = {
        T: torch.randn(T, batch_size, input_size, generator=g, dtype=torch.float64)
        for T in sorted(set(lengths) | {radius_seq_len})
    }
    flow = []
    for cell in cells:
        layer = float64_layer(
            cell, input_size, hidden_size, seed, forget_bias if cell == "lstm" else None
        )
        for T in lengths:
            grads = state_gradient_norms(layer, inputs[T])
            jac = jacobian_norms(layer, inputs[T])
            entry = {
                "cell": cell,
                "seq_len": T,
                "dL_dh": grads["h"].tolist(),
                "dh_T_dh_t": jac.tolist(),
                "decay": decay_rate(grads["h"]),
                "jacobian_decay": decay_rate(jac),
            }
            if "c" in grads:
                entry["dL_dc"] = grads["c"].tolist()
            flow.append(entry)
    lstm = float64_layer("lstm", input_size, hidden_size, seed, forget_bias)
    check = cell_path_check(lstm, inputs[radius_seq_len])
    cell_path = {
        "seq_len": radius_seq_len,
        "product_norm": check["product_norm"].tolist(),
        "measured_norm": check["measured_norm"].tolist(),
        "full_norm": check["full_norm"].tolist(),
        "max_abs_difference": check["max_error"],
        "max_off_diagonal": check["off_diagonal"].max().item(),
        "full_max_abs_difference": check["full_max_error"],
        "full_max_off_diagonal": check["full_off_diagonal"].max().item(),
    }
    spectral = []
    for radius in radii:
        rnn = float64_layer("rnn", input_size, hidden_size, seed, None)
        set_spectral_radius(rnn, radius)
        jac = jacobian_norms(rnn, inputs[radius_seq_len])
        spectral.append(
            {
                "radius": radius,
                "jacobian": jac.tolist(),
                "power_norms": matrix_power_norms(rnn.weight_hh_l0, radius_seq_len).tolist(),
                "decay": decay_rate(jac),
            }
        )
    return {"config": config, "flow": flow, "cell_path": cell_path, "spectral": spectral}


def finding(result: dict) -> str:
    """One sentence stating what ``gradient_flow_experiment`` measured."""
    flow = result["flow"]
    T = 100 if any(e["seq_len"] == 100 for e in flow) else max(e["seq_len"] for e in flow)
    at = {e["cell"]: e for e in flow if e["seq_len"] == T}
    first = ", ".join(
        f"{c.upper()} {e['dL_dh'][0]:.1e} (x{e['decay']['rate']:.3f}/step)" for c, e in at.items()
    )
    spectral = result["spectral"]
    vanish = [s["radius"] for s in spectral if s["decay"]["rate"] < 1]
    explode = [s["radius"] for s in spectral if s["decay"]["rate"] > 1]
    cp = result["cell_path"]
    text = f"At T={T}, ||dL/dh_1|| (fitted decay per step) is {first}"
    if vanish or explode:
        text += (
            f"; a tanh RNN's ||dh_T/dh_t|| vanishes for spectral radius "
            f"{', '.join(f'{r:g}' for r in vanish) or 'none'} and grows for "
            f"{', '.join(f'{r:g}' for r in explode) or 'none'}"
        )
    return text + (
        f"; the LSTM's forget-gate product equals dc_T/dc_t with h cut from the gates to "
        f"{cp['max_abs_difference']:.1e} (by construction) and differs from the full "
        f"dc_T/dc_t (all paths) by up to {cp['full_max_abs_difference']:.2g}."
    )
