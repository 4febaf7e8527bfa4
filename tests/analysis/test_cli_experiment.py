"""`rnnlab experiment ...` with tiny budgets: JSON next to PNGs, a measured finding."""

from __future__ import annotations

import json

import pytest

from rnnlab.cli import main

TINY = {
    "forget-bias": ["--seeds", "1", "--seq-lens", "4", "--epochs", "10", "--hidden-size", "8"],
    "gradient-flow": [
        "--lengths",
        "10,20",
        "--hidden-size",
        "6",
        "--radii",
        "0.5,3",
        "--radius-seq-len",
        "20",
    ],
    "clipping": ["--steps", "30", "--seq-len", "20", "--lengths", "5,10", "--hidden-size", "8"],
    "compare-cells": ["--tasks", "copy:5", "--epochs", "2", "--hidden-size", "8"],
}
PNGS = {
    "forget-bias": ["loss.png", "accuracy.png", "sweep.png"],
    "gradient-flow": ["gradient_flow.png", "spectral_radius.png", "cell_path.png"],
    "clipping": ["clipping.png"],
    "compare-cells": ["loss.png"],
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_experiment_writes_json_pngs_and_prints_the_measured_finding(name, tmp_path, capsys):
    out, metrics = tmp_path / name, tmp_path / "metrics.json"
    argv = ["experiment", name, "--out", str(out), "--metrics-out", str(metrics), *TINY[name]]
    assert main(argv) == 0
    data = json.loads((out / f"{name.replace('-', '_')}.json").read_text())
    assert data["experiment"] == name and data["seed"] == 0
    for png in PNGS[name]:
        assert (out / png).stat().st_size > 1000
    assert data["finding"] in capsys.readouterr().out
    flat = json.loads(metrics.read_text())
    assert "wall_s" in flat and all(not isinstance(v, (dict, list)) for v in flat.values())
