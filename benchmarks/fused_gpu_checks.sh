#!/usr/bin/env bash
# Everything the fused GPU path (rnnlab.nn.fused, issue 18) still needs a GPU for, in one go:
# the CUDA-only tests (fused parity on the device, graph replay), the Triton tests compiled and
# run for real (no interpreter), then the benchmark. Needs triton (pip install -e ".[gpu]").
#   bash benchmarks/fused_gpu_checks.sh [OUT_DIR]      (default benchmarks/results)
set -euo pipefail
out="${1:-benchmarks/results}"
mkdir -p "$out"
export TRITON_INTERPRET=0
python -c "import torch, triton; assert torch.cuda.is_available(); print(torch.cuda.get_device_name(), 'triton', triton.__version__)"
python -m pytest -q -m "triton or not triton" tests/nn/test_fused_scan.py tests/nn/test_fused_layers.py \
    tests/nn/test_fused_graphs.py tests/nn/test_fused_persistent.py 2>&1 | tee "$out/fused-gpu-tests.log"
python -m rnnlab bench --device cuda --out "$out/recurrent-cuda-fused.json" 2>&1 | tee "$out/recurrent-cuda-fused.log"
python -m rnnlab bench --device cuda --tf32 --dtypes float32 --out "$out/recurrent-cuda-fused-tf32.json"
