"""The speed benchmark's plumbing (not its numbers): rows, JSON and the Markdown table."""

from __future__ import annotations

import json

from rnnlab.benchmark import Shape, markdown_table, run_benchmark, write_json
from rnnlab.cli import build_parser


def test_run_benchmark_tiny(tmp_path):
    tiny = (Shape("tiny", batch=2, steps=3, hidden=4, layers=1, bidirectional=True),)
    report = run_benchmark(cells=("LSTM", "GRU"), shapes=tiny, warmup=0, repeats=1, log=None)
    rows = report["results"]
    assert [(r["cell"], r["task"]) for r in rows] == [
        ("LSTM", "train"),
        ("LSTM", "infer"),
        ("GRU", "train"),
        ("GRU", "infer"),
    ]
    for r in rows:
        assert set(r["tokens_per_s"]) == {"torch", "auto", "scratch"}
        assert all(v > 0 for v in r["tokens_per_s"].values())
        assert r["auto_backend"] in ("native", "scratch") and r["auto_reason"]
    table = markdown_table(report)
    assert table.count("\n") == 1 + len(rows) and "B=2 T=3 H=4 L=1, bi" in table
    path = write_json(report, tmp_path / "sub" / "r.json")
    assert json.loads(path.read_text())["results"][0]["shape"] == "tiny"


def test_bench_command_is_registered():
    args = build_parser().parse_args(["bench", "--quick", "--out", "x.json", "--device", "cpu"])
    assert args.quick and args.out == "x.json" and callable(args.func)
