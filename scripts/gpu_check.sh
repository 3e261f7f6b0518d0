#!/usr/bin/env bash
# GPU checks in one go, for whoever has a CUDA machine at hand (about 5-8 minutes on one GPU):
#   bash scripts/gpu_check.sh [log file]
# Runs the GPU-marked tests, then the CUDA section of the benchmark: fp32, bf16-mixed and
# bf16-mixed + compile at B=4096, each as the template with data resident on the GPU, the
# template gathering batches on the host, and the raw loop both ways; then host reads and
# synchronizing CUDA calls per training step. Writes everything to one log plus
# gpu_benchmark.json.
#
# No install needed: the repo runs from its checkout (PYTHONPATH). A machine with torch,
# lightning, torchmetrics, pyarrow and rich but without Hydra takes hydra-core, omegaconf
# and antlr4 from wheels in .whl/ (git-ignored), fetched beforehand where pip can reach PyPI:
#   bash scripts/gpu_check.sh --fetch-wheels
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
WHEELS=(hydra-core==1.3.8 omegaconf==2.3.1)  # as pyproject.toml allows
SDIST_WHEELS=(antlr4-python3-runtime==4.9.3)  # published as a source archive only: built here

if [[ "${1:-}" == "--fetch-wheels" ]]; then
    mkdir -p .whl
    "$PYTHON" -m pip download --no-deps --only-binary=:all: -d .whl "${WHEELS[@]}" &&
        "$PYTHON" -m pip wheel --no-deps -w .whl "${SDIST_WHEELS[@]}"
    exit $?
fi

log="${1:-gpu_check.log}"
{
    echo "== $(date -u +%FT%TZ) $(hostname)"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    if ! "$PYTHON" -c "import hydra, omegaconf" 2>/dev/null; then
        if compgen -G ".whl/*.whl" >/dev/null; then
            echo "== installing Hydra from .whl/ into /tmp/multiout-site"
            "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
                --target /tmp/multiout-site .whl/*.whl || echo "wheel install failed"
            export PYTHONPATH="/tmp/multiout-site${PYTHONPATH:+:$PYTHONPATH}"
        else
            echo "no Hydra here and no .whl/: run 'bash scripts/gpu_check.sh --fetch-wheels' where pip works"
        fi
    fi
    export PYTHONPATH="$PWD/src:$PWD/scripts:$PWD${PYTHONPATH:+:$PYTHONPATH}"
    export PYTHONUNBUFFERED=1
    "$PYTHON" -c "import torch, lightning, hydra; print('torch', torch.__version__, 'cuda', torch.version.cuda,
        'lightning', lightning.__version__, 'hydra', hydra.__version__)"
    echo "== GPU tests"
    timeout 180 "$PYTHON" -m pytest -m gpu -v -rs -p no:cacheprovider tests/test_gpu.py
    tests=$?
    echo "== CUDA benchmark"
    timeout 420 "$PYTHON" scripts/benchmark.py --sections cuda --rounds 3 --json gpu_benchmark.json
    bench=$?
    echo "== done: tests exit $tests, benchmark exit $bench"
} 2>&1 | tee "$log"
