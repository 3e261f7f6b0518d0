#!/usr/bin/env bash
# Make each variant of a new project from the committed template and run that project's own
# CI (.ci/run: a fresh venv, the README's install, ruff, mypy, pytest), then its
# `python train.py`, whose test accuracy must equal this repository's default run's.
#
#   bash project_template/check_variants.sh [--fast] [--no-train] [VARIANT ...]
#
# VARIANT: all (every part), none (no optional part), or a part's name (that part alone, with
# the part it is built on: stream, windows and demos read tables, so `stream` is tables and stream).
# Without one: all, none and each part alone. --fast runs each project's fast tests only
# (-m "not slow"). Copier must be installed (`pip install -e ".[dev]"`). Times and results
# go to the terminal and to variants.log in the working folder.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
parts=$(sed -n 's/^\([a-z][a-z_]*\):$/\1/p' "$repo/copier.yml" | grep -v -x -e project_name -e package_name)
fast=0
train=1
variants=()
for arg in "$@"; do
    case "$arg" in
        --fast) fast=1 ;;
        --no-train) train=0 ;;
        *) variants+=("$arg") ;;
    esac
done
[ ${#variants[@]} -gt 0 ] || variants=(all none $parts)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/template"
log="$PWD/variants.log"
expected=""
if [ "$train" = 1 ]; then
    # This repository's default result, the number every variant must give.
    (cd "$work/template" && PYTHONPATH=src python train.py hydra.run.dir="$work/repo_run" > "$work/repo_train.log" 2>&1)
    expected=$(grep -o "test/acc = [0-9.]*" "$work/repo_train.log" | tail -1)
    echo "template: $expected" | tee -a "$log"
fi

status=0
for variant in "${variants[@]}"; do
    # The part, and the part it needs (NEEDS in make_project.py).
    kept=$(cd "$repo/project_template" && python -c "import sys, make_project
print(sys.argv[1], make_project.NEEDS.get(sys.argv[1], ''))" "$variant")
    answers=(-d project_name=my-project)
    for part in $parts; do
        if [ "$variant" = none ] || { [ "$variant" != all ] && ! printf '%s\n' $kept | grep -q -x "$part"; }; then
            answers+=(-d "$part=false")
        fi
    done
    project="$work/$variant"
    start=$SECONDS
    python -m copier copy --trust --defaults --quiet --vcs-ref HEAD "${answers[@]}" "$work/template" "$project" > /dev/null
    result=ok
    # No name of a left-out part is left (the names: tests/project_template/template.py).
    left_out=$(printf '%s\n' "${answers[@]}" | sed -n 's/=false$//p' | tr '\n' ' ')
    (cd "$repo" && python -c "import sys; from pathlib import Path; from tests.project_template.template import mentions
found = [m for part in sys.argv[2:] for m in mentions(Path(sys.argv[1]), part)]
print(*found, sep='\n'); sys.exit(bool(found))" "$project" $left_out) || result="FAILED (left-out names remain)"
    (cd "$project" && if [ "$fast" = 1 ]; then PYTEST_ADDOPTS='-m "not slow"' bash .ci/run; else bash .ci/run; fi) \
        > "$work/$variant.ci.log" 2>&1 || result="FAILED (.ci/run; log: tail of it below)"
    summary=$(grep -E "^[0-9]+ (passed|failed)|passed|failed" "$work/$variant.ci.log" | tail -1)
    lines=$(find "$project/src" -name '*.py' -exec cat {} + | wc -l)
    acc=""
    if [ "$train" = 1 ] && [ "$result" = ok ]; then
        (cd "$project" && PYTHONPATH=src python train.py hydra.run.dir="$work/$variant.run" > "$work/$variant.train.log" 2>&1) || result="FAILED (train.py)"
        acc=$(grep -o "test/acc = [0-9.]*" "$work/$variant.train.log" | tail -1)
        [ "$acc" = "$expected" ] || result="FAILED (train.py: $acc, template: $expected)"
    fi
    echo "$variant: $result, $((SECONDS - start)) s, src/ $lines lines, ${summary:-no pytest summary}${acc:+, $acc}" | tee -a "$log"
    if [ "$result" != ok ]; then
        tail -30 "$work/$variant.ci.log"
        status=1
    fi
done
exit "$status"
