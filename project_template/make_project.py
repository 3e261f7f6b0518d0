"""Copier's one task (copier.yml): turn a copy of the template into the asked-for project.

Run in the new project's folder, after Copier has copied the template's files into it:

    python make_project.py <template dir> <project name> <package name> '<answers as JSON>'

1. leaves out each part answered "no": its files (PARTS below, globs over the template's own
   files, so a project's own files are never touched) and its marked lines in shared files;
2. strips the part markers from the lines that stay;
3. renames the package `multiout` (folder, Hydra plugin folder, imports, `_target_`s, docs) to the
   project's, and the distribution to the project name.

Copier runs it on every copy it makes, the replayed copy of the old release in `copier update`
included, so an update compares like with like. Only the standard library is used.

Part markers, in any text file (`#` comments; `<!-- -->` in Markdown):

    some line  # part: stream          the line stays only with the part
    # part: stream                     the lines down to `# end part` stay only with the part
    # end part
    # part: template                   `template`: only in the template, never in a project

A marker may name several parts (`part: stream, windows`): the lines stay only if all stay.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

TEMPLATE_PACKAGE = "multiout"

# Each optional part (a yes/no question of the same name in copier.yml) and the template's files
# that come only with it: globs in fnmatch syntax, `*` crossing folders. The lines it adds to
# shared files carry its marker instead.
PARTS: dict[str, list[str]] = {
    "tables": [
        "src/multiout/data/tables/*",
        "conf/data/tabular.yaml",
        "tests/data/tabular_files.py",
        "tests/data/test_tabular*.py",
        "tests/data/test_categorical.py",
        "tests/data/test_labels.py",
        "tests/data/test_label_mapping.py",
        "tests/data/test_statistics.py",
        "tests/data/test_missing.py",
        "tests/runtime/test_data_summary.py",
        "tests/tasks/test_tabular_runs.py",
        "tests/tasks/test_categorical_runs.py",
        "tests/tasks/test_checkpoint_label_values.py",
        "tests/object_store/test_table_outputs.py",
        "scripts/baseline_tables.py",
        "tests/scripts/test_baseline_tables.py",
        "scripts/tabular_memory.py",
        "scripts/make_penguins.py",
        "scripts/make_beps.py",
        "scripts/rdataset_csv.py",
    ],
    "stream": [
        "src/multiout/data/stream/*",
        "conf/data/stream.yaml",
        "tests/data/*stream*.py",
        "tests/object_store/test_data.py",
        "scripts/stream_memory.py",
        "scripts/bench/object_store.py",
    ],
    "windows": [
        "src/multiout/data/windows/*",
        "src/multiout/models/sequence.py",
        "conf/data/windows.yaml",
        "conf/model/net/conv1d.yaml",
        "conf/model/net/gru.yaml",
        "conf/model/net/transformer.yaml",
        "tests/*windows*.py",
        "tests/models/test_sequence.py",
        "tests/tools/test_make_series.py",
        "scripts/make_series.py",
        "scripts/bench/windows_loader.py",
        "scripts/bench/windows_memory.py",
        "conf/experiment/us_employment_windows.yaml",
    ],
    "optuna": [
        "src/hydra_plugins/*",
        "src/multiout/hparams_search/*",
        "src/multiout/callbacks/optuna_pruning.py",
        "conf/hparams_search/*",
        "conf/hydra/sweeper/*",
        "tests/hparams_search/*",
        "tests/test_hparams_search.py",
        "tests/callbacks/test_optuna_pruning.py",
    ],
    "export": [
        "src/multiout/tools/export.py",
        "scripts/export.py",
        "tests/tools/test_export.py",
    ],
    "loggers": [
        "conf/logger/tensorboard.yaml",
        "conf/logger/mlflow.yaml",
        "conf/logger/wandb.yaml",
    ],
    "slurm": [
        "conf/hydra/launcher/slurm.yaml",
        "scripts/slurm/*",
    ],
    "tabular_trunks": [
        "src/multiout/models/resmlp.py",
        "conf/model/resmlp.yaml",
        "conf/model/net/resmlp.yaml",
        "tests/models/test_resmlp.py",
        "src/multiout/models/plr.py",
        "src/multiout/models/tabm.py",
        "conf/model/net/plr_*.yaml",
        "conf/model/net/tabm.yaml",
        "tests/models/test_plr.py",
        "tests/models/test_tabm.py",
    ],
    "ordinal": [
        "src/multiout/models/ordinal.py",
        "tests/models/test_ordinal.py",
    ],
    "demos": [
        "data/*",
        "conf/experiment/us_employment.yaml",
        "conf/experiment/nyc_flights.yaml",
        "conf/experiment/us_employment_windows.yaml",
        "scripts/make_us_employment.py",
        "scripts/make_nyc_flights.py",
        "scripts/make_diamonds.py",
        "tests/data/test_us_employment.py",
        "tests/data/test_nyc_flights.py",
    ],
    "figures": [
        "src/multiout/metrics/figures.py",
    ],
    "compare": [
        "src/multiout/tools/compare.py",
        "scripts/compare_runs.py",
        "tests/tools/test_compare.py",
    ],
    "faults": [
        "src/multiout/runtime/faults/*",
        "conf/callbacks/faults.yaml",
        "conf/callbacks/sigterm.yaml",
        "conf/callbacks/last_checkpoint.yaml",
        "conf/callbacks/non_finite_loss.yaml",
        "tests/runtime/faults/*",
        "tests/tasks/test_faults.py",
        "tests/object_store/test_sigterm.py",
        "tests/object_store/test_endpoint_lost.py",
    ],
    "speed": [
        "src/multiout/runtime/speed.py",
        "tests/runtime/test_speed.py",
    ],
}
# Parts built on another: each is asked only when the other is kept (copier.yml, `when`), and
# refused without it.
NEEDS: dict[str, str] = {
    "stream": "tables",
    "windows": "tables",
    "demos": "tables",
}
# Only in the template: what makes projects, and the lines about it.
TEMPLATE_ONLY = "template"

TEXT_SUFFIXES = {
    ".py",
    ".yaml",
    ".yml",
    ".toml",
    ".md",
    ".txt",
    ".cfg",
    ".ini",
    ".sh",
    ".sbatch",
    ".json",
    "",
}
MARKER = r"(?:#|<!--)\s*(end )?part(?::\s*([\w, ]+?))?\s*(?:-->)?"
BLOCK = re.compile(rf"^\s*{MARKER}\s*$")
TRAILING = re.compile(rf"\s*{MARKER}\s*$")


def template_files(template: Path) -> list[str]:
    """The template's files, relative, as Copier copies them (git's files; no caches)."""
    skip = {".git", "__pycache__"}
    return sorted(
        path.relative_to(template).as_posix()
        for path in template.rglob("*")
        if path.is_file() and not skip & set(path.relative_to(template).parts)
    )


def left_out_files(files: list[str], left_out: set[str]) -> list[str]:
    globs = [glob for part in left_out for glob in PARTS.get(part, [])]
    return [name for name in files if any(fnmatch.fnmatchcase(name, glob) for glob in globs)]


def strip_parts(text: str, left_out: set[str], where: str) -> str:
    """`text` without the lines of left-out parts, and without any part marker."""
    kept: list[str] = []
    open_blocks: list[bool] = []  # for each open block, whether its lines stay
    # Where lines went between blank lines, the blank lines on both sides merge into the longer
    # run: `gap` blank lines were kept before the lines that went, `blanks` came after them.
    gap: int | None = None
    blanks = 0
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        block = BLOCK.match(line)
        goes = bool(block)
        if block and block.group(1):  # end part
            if not open_blocks:
                raise SystemExit(f"error: {where}:{number}: `end part` without an open `part:`")
            open_blocks.pop()
        elif block:
            open_blocks.append(_stays(block.group(2), left_out, where, number))
        elif not all(open_blocks):
            continue
        elif (trailing := TRAILING.search(line)) and trailing.group(2):
            goes = not _stays(trailing.group(2), left_out, where, number)
            line = line[: trailing.start()] + line[len(line.rstrip("\r\n")) :]
        if gap is not None and not goes and not line.strip():
            blanks += 1
            continue
        if gap is not None:  # the first line after the gap: the longer run of blank lines stays
            kept += ["\n"] * (blanks - gap) if kept else []
            gap = None
        if goes:
            gap, blanks = _blank_run(kept), 0
        else:
            kept.append(line)
    if open_blocks:
        raise SystemExit(f"error: {where}: a `part:` block is not closed with `end part`")
    stripped = "".join(kept)
    return stripped.rstrip() + "\n" if stripped != text and stripped.strip() else stripped


def _blank_run(lines: list[str]) -> int:
    count = 0
    while count < len(lines) and not lines[-1 - count].strip():
        count += 1
    return count


def _stays(names: str | None, left_out: set[str], where: str, number: int) -> bool:
    parts = {name.strip() for name in (names or "").split(",")}
    unknown = parts - {*PARTS, TEMPLATE_ONLY}
    if unknown:
        raise SystemExit(f"error: {where}:{number}: unknown part {sorted(unknown)}; known: {sorted(PARTS)}")
    return not parts & left_out


def rename_package(project: Path, files: list[str], package: str, distribution: str) -> None:
    """Rename the package folder, the Hydra plugin folders named after it, and the name in `files`."""
    word = re.compile(rf"\b{TEMPLATE_PACKAGE}(?=\b|_)")
    for name in files:
        path = project / name
        if path.suffix in TEXT_SUFFIXES and path.is_file():
            text = path.read_text(encoding="utf-8")
            if word.search(text):
                path.write_text(word.sub(package, text), encoding="utf-8")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        re.sub(r'(?m)^name = ".*"$', f'name = "{distribution}"', text, count=1), encoding="utf-8"
    )
    src = project / "src"
    moves = [(src / TEMPLATE_PACKAGE, src / package)]
    moves += [
        (p, p.with_name(package + p.name[len(TEMPLATE_PACKAGE) :]))
        for p in src.glob(f"hydra_plugins/{TEMPLATE_PACKAGE}_*")
    ]
    for old, new in moves:
        _merge_move(old, new)


def _merge_move(old: Path, new: Path) -> None:
    """Move folder `old` to `new`; files of `old` replace those of `new` (in `copier update`, `new`
    holds the project's own version of the package, which Copier then merges)."""
    for path in sorted(old.rglob("*")):
        if path.is_file():
            target = new / path.relative_to(old)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
    shutil.rmtree(old)


def main(template: Path, project: Path, distribution: str, package: str, answers: dict) -> None:
    # A part whose base is left out is not asked (no answer), and goes too; kept, it is refused.
    baseless = [part for part, need in NEEDS.items() if not answers.get(need, True)]
    missing = set(PARTS) - answers.keys() - set(baseless)
    if missing:
        raise SystemExit(f"error: copier.yml asks no question for the parts {sorted(missing)}")
    for part in baseless:
        if answers.get(part):
            raise SystemExit(f"error: {part} needs {NEEDS[part]}: answer {NEEDS[part]}=true, or {part}=false")
    left_out = {TEMPLATE_ONLY, *(part for part in PARTS if not answers.get(part))}
    files = [name for name in template_files(template) if (project / name).is_file()]
    gone = set(left_out_files(files, left_out))
    for name in sorted(gone):
        (project / name).unlink()
        for folder in (project / name).parents:
            if folder == project or any(folder.iterdir()):
                break
            folder.rmdir()
    files = [name for name in files if name not in gone]
    for name in files:
        path = project / name
        if path.suffix in TEXT_SUFFIXES:
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # not text after all
            stripped = strip_parts(text, left_out, name)
            if stripped != text:
                path.write_text(stripped, encoding="utf-8")
    rename_package(project, files, package, distribution)
    python_files = [
        re.sub(rf"^src/(hydra_plugins/)?{TEMPLATE_PACKAGE}", rf"src/\g<1>{package}", name) for name in files
    ]
    tidy(project, [name for name in python_files if name.endswith(".py")])


def tidy(project: Path, python_files: list[str]) -> None:
    """Sort imports and format the template's Python files with ruff, where it can be found: a
    longer package name lengthens lines, and left-out imports leave import blocks to re-sort."""
    ruff = [sys.executable, "-m", "ruff"]
    if subprocess.run([*ruff, "--version"], capture_output=True).returncode != 0:
        found = shutil.which("ruff")
        if found is None:
            print("note: ruff not found; run `ruff check --fix . && ruff format .` in the new project")
            return
        ruff = [found]
    for command in (["check", "--fix-only", "--select", "I", "--quiet"], ["format", "--quiet"]):
        subprocess.run([*ruff, *command, *python_files], cwd=project, check=True)


if __name__ == "__main__":
    template_dir, name, package_name, answers_json = sys.argv[1:]
    main(Path(template_dir), Path.cwd(), name, package_name, json.loads(answers_json))
