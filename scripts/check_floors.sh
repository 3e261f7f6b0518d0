#!/usr/bin/env bash
# Do the lower bounds in pyproject.toml still work? Installs the lowest version of every core
# dependency ([project].dependencies, `name>=X` -> `name==X`) into a fresh venv, then runs the
# model, metric and data tests, the fast end-to-end ones, the config checks and one short
# `train.py`. About 15 minutes on 2 busy CPU cores, most of it installing.
#   bash scripts/check_floors.sh [log file]
# torch is the exception: TORCH_SPEC (default: its floor) picks the build, TORCH_INDEX_URL an index.
set -uo pipefail
cd "$(dirname "$0")/.."
log="${1:-floors_check.log}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python="${PYTHON:-python3}"

# `torch>=2.5,<3` -> `torch==2.5`: the floor of each requirement, ranges and markers dropped.
floors=$("$python" -c '
import re, tomllib
for dep in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    name, floor = re.match(r"([\w.-]+)\s*>=\s*([^,;\s]+)", dep).groups()
    print(f"{name}=={floor}")
')
torch_floor=$(grep '^torch==' <<<"$floors")
{
    echo "== $(date -u +%FT%TZ) $("$python" --version) floors:" $floors
    "$python" -m venv "$tmp/venv"
    pip=("$tmp/venv/bin/python" -m pip install --quiet)
    "${pip[@]}" "${TORCH_SPEC:-$torch_floor}" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
    # The floors together with what the tests import; pip fails if the floors conflict.
    "${pip[@]}" $(grep -v '^torch==' <<<"$floors") pytest hypothesis pandas scikit-learn
    "$tmp/venv/bin/python" -m pip freeze | grep -iE "^($(sed 's/[=<>].*//' <<<"$floors" | paste -sd '|')|pandas)="
    echo "== tests"
    PYTHONPATH=src:. "$tmp/venv/bin/python" -m pytest -q -p no:cacheprovider -m "not slow" \
        tests/models tests/metrics tests/data tests/tasks/test_end_to_end.py tests/runtime/test_config_typos.py
    tests=$?
    echo "== python train.py trainer.max_epochs=1"
    PYTHONPATH=src "$tmp/venv/bin/python" train.py trainer.max_epochs=1 "hydra.run.dir=$tmp/run" 2>&1 | tail -3
    train=${PIPESTATUS[0]}
    echo "== done: tests exit $tests, train exit $train"
    [ "$tests" -eq 0 ] && [ "$train" -eq 0 ]
} 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
