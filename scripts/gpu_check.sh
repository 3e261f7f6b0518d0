#!/usr/bin/env bash
# GPU checks in one go, for whoever has a CUDA machine at hand (about 3-5 minutes on one GPU):
#   bash scripts/gpu_check.sh [log file]
# Runs the GPU-marked tests, then the CUDA section of the benchmark (fp32, bf16-mixed,
# bf16-mixed + compile, each against a raw loop with the same settings), and writes
# everything to one log plus gpu_benchmark.json.
set -uo pipefail
cd "$(dirname "$0")/.."
log="${1:-gpu_check.log}"
{
    echo "== $(date -u +%FT%TZ) $(hostname)"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    python -c "import torch, lightning; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'lightning', lightning.__version__)"
    echo "== GPU tests"
    timeout 150 python -m pytest -m gpu -v -rs tests/test_gpu.py
    tests=$?
    echo "== CUDA benchmark"
    timeout 270 python scripts/benchmark.py --sections cuda --rounds 3 --json gpu_benchmark.json
    bench=$?
    echo "== done: tests exit $tests, benchmark exit $bench"
} 2>&1 | tee "$log"
