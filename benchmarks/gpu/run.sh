#!/usr/bin/env bash
# The prepared GPU check (run through the `device` tool from the repository root):
# the CUDA parity tests and the GPU speed benchmark, figures written to $OUT.
# It installs nothing heavy: the device image has torch, triton, numba, pytest, hypothesis.
set -uo pipefail
OUT=${OUT:-/tmp/spikeforge-gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . >"$OUT/install.log" 2>&1 || cat "$OUT/install.log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -m pytest -q -p no:cacheprovider tests/kernels/test_cuda.py 2>&1 | tee "$OUT/cuda_tests.log"
python3 -m spikeforge.bench.speed --device cuda 2>&1 | tee "$OUT/gpu_speed.txt"
