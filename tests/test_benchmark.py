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


def test_gpu_benchmark_plumbing_on_cpu(tmp_path):
    """The GPU benchmark's rows and table, run on CPU tensors (the fused and persistent
    contenders under Triton's interpreter when triton is installed; graphs are skipped)."""
    import torch

    from rnnlab.benchmark_gpu import gpu_markdown_table, run_gpu_benchmark
    from rnnlab.nn.fused import unavailable_reason

    tiny = (Shape("tiny", batch=2, steps=2, hidden=3, layers=1),)
    report = run_gpu_benchmark(
        device="cpu", cells=("GRU",), shapes=tiny, dtypes=("float32",), warmup=0, repeats=1,
        log=None,
    )  # fmt: skip
    train, infer = report["results"]
    assert (train["task"], infer["task"]) == ("train", "infer")
    fused = unavailable_reason("cpu", torch.float32) is None  # triton and its interpreter
    expected = {"torch", "auto", "scratch"} | ({"fused"} if fused else set())
    assert set(train["seconds"]) == expected
    assert set(infer["seconds"]) == expected | ({"persistent"} if fused else set())
    assert train["skipped"]["persistent"] == "inference only"
    assert train["skipped"]["scratch+graph"] == "CUDA graphs need a CUDA device"
    assert train["time_ratio_to_cudnn"]["torch"] == 1.0
    table = gpu_markdown_table(report)
    assert table.count("\n") == 3 and "| GRU | B=2 T=2 H=3 L=1 | float32 | infer |" in table
    path = write_json(report, tmp_path / "gpu.json")
    assert json.loads(path.read_text())["benchmark"] == "recurrent-gpu"


def test_bench_cuda_without_a_gpu_is_a_clear_error(capsys):
    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    args = build_parser().parse_args(["bench", "--device", "cuda", "--out", "unused.json"])
    with pytest.raises(SystemExit, match="torch.cuda.is_available\\(\\) is False"):
        args.func(args)
