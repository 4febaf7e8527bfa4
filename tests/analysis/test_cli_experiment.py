"""`rnnlab experiment ...` with tiny budgets: JSON, PNGs, report.html, computed findings."""

from __future__ import annotations

import html
import json

import pytest

from rnnlab.cli import main

SWEEP = ["--seeds", "2", "--seq-lens", "3,5", "--steps", "20", "--hidden-size", "6"]
TINY = {
    ("forget-bias", "sweep"): SWEEP,
    ("forget-bias", "seed"): [
        "--seeds",
        "2",
        "--epochs",
        "10",
        "--hidden-size",
        "6",
        "--seq-lens",
        "4",
    ],
    ("gradient-flow", "default"): [
        "--lengths",
        "10,20",
        "--hidden-size",
        "6",
        "--radii",
        "0.5,3",
        "--radius-seq-len",
        "20",
    ],
    ("gradient-flow", "seed"): ["--lengths", "10", "--hidden-size", "6", "--radius-seq-len", "20"],
    ("clipping", "default"): [
        "--seeds",
        "2",
        "--steps",
        "30",
        "--seq-len",
        "20",
        "--lengths",
        "5,10",
        "--hidden-size",
        "8",
    ],
    ("compare-cells", "sweep"): [*SWEEP, "--cells", "rnn,gru"],
    ("compare-cells", "seed"): [
        "--seq-len",
        "30",
        "--epochs",
        "2",
        "--grad-seq-len",
        "40",
        "--grad-steps",
        "2",
    ],
    ("seq2seq-variants", "default"): "--budget tiny --seeds 2 --conditions basic,peeky "
    "--epochs 1".split(),
    ("seq2seq-variants", "seed"): "--seeds 2 --conditions basic,reversed --epochs 1 "
    "--train-size 200 --test-size 20 --hidden-size 8".split(),
}
PNGS = {
    ("forget-bias", "sweep"): ["sweep.png", "accuracy_curves.png"],
    ("forget-bias", "seed"): ["loss.png", "accuracy.png"],
    ("gradient-flow", "default"): ["gradient_flow.png", "spectral_radius.png", "cell_path.png"],
    ("gradient-flow", "seed"): ["spectral_radius.png", "cell_path.png"],
    ("clipping", "default"): ["clipping_seed0.png", "clipping_seeds.png"],
    ("compare-cells", "sweep"): ["sweep.png", "accuracy_curves.png"],
    ("compare-cells", "seed"): ["loss.png", "grad_norm.png"],
    ("seq2seq-variants", "default"): ["accuracy.png"],
    ("seq2seq-variants", "seed"): ["accuracy.png"],
}


@pytest.mark.parametrize("name,preset", sorted(TINY))
def test_experiment_writes_json_pngs_report_and_prints_the_finding(name, preset, tmp_path, capsys):
    out, metrics = tmp_path / name, tmp_path / "metrics.json"
    argv = [
        "experiment",
        name,
        "--preset",
        preset,
        "--out",
        str(out),
        "--metrics-out",
        str(metrics),
        *TINY[name, preset],
    ]
    assert main(argv) == 0
    data = json.loads((out / f"{name.replace('-', '_')}.json").read_text())
    assert data["experiment"] == name and data["preset"] == preset and data["cpu_s"] > 0
    for png in PNGS[name, preset]:
        assert (out / png).stat().st_size > 1000
    printed = capsys.readouterr().out
    assert data["finding"] in printed
    if preset == "seed":
        table = (out / "table.md").read_text()
        source = "the book says" if name == "seq2seq-variants" else "the notes say"
        assert f"| {source} | rnnlab measured |" in table and table.strip() in printed
    page = (out / "report.html").read_text()
    assert html.escape(data["finding"]) in page
    command = (out / "command.txt").read_text().strip()
    assert command == data["command"] and f"--preset {preset}" in command
    flat = json.loads(metrics.read_text())
    assert "wall_s" in flat and all(not isinstance(v, (dict, list)) for v in flat.values())


def test_sweep_metrics_carry_seeds_effect_size_and_p_value(tmp_path):
    metrics = tmp_path / "m.json"
    argv = [
        "experiment",
        "forget-bias",
        "--out",
        str(tmp_path / "fb"),
        "--metrics-out",
        str(metrics),
        *SWEEP,
    ]
    assert main(argv) == 0
    flat = json.loads(metrics.read_text())
    key = "forget_bias_1_vs_forget_bias_0_T5"
    assert flat[f"{key}_n_seeds"] == 2 and 0 < flat[f"{key}_p_value"] <= 1
    assert f"{key}_cliffs_delta" in flat and f"{key}_verdict" in flat
    assert "longest_T_solved_forget_bias_1" in flat


@pytest.mark.slow  # two sweeps; the sweep's own seeding is tested fast in test_sweep.py
def test_the_recorded_command_reproduces_the_run(tmp_path):
    import shlex

    out = tmp_path / "a"
    assert main(["experiment", "compare-cells", "--out", str(out), *SWEEP]) == 0
    first = json.loads((out / "compare_cells.json").read_text())
    argv = shlex.split((out / "command.txt").read_text())[1:]
    argv[argv.index("--out") + 1] = str(tmp_path / "b")
    assert main(argv) == 0
    second = json.loads((tmp_path / "b" / "compare_cells.json").read_text())
    assert [r["curve"] for r in first["runs"]] == [r["curve"] for r in second["runs"]]


def test_bad_arguments_are_clear_errors(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["experiment", "forget-bias", "--seq-lens", "5,x"])
    assert "expected integers like 5,10,20, got '5,x'" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="unknown task 'nope'"):
        main(["experiment", "compare-cells", "--task", "nope", "--out", str(tmp_path)])
