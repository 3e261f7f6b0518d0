"""Making projects from a clone of this repository with Copier, as a user would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT

PACKAGE = "churn_model"
# Names that only a part's code, configs and docs use: none may be left in a project without it.
NAMES = {
    "tables": [r"data=tabular", r"tabular\.yaml", r"data[/.]tables\b", r"TabularDataModule", r"TableSource",
               r"tabular_files", r"tabular_memory", r"baseline_tables", r"penguins", r"make_beps", r"rdataset_csv"],
    "stream": [r"data=stream", r"\bstream\.py", r"data[/.]stream\b", r"StreamDataModule", r"parquet_files",
               r"larger than memory"],
    "windows": [r"data=windows", r"windows\.py", r"data[/.]windows\b", r"WindowsDataModule", r"series_splits", r"conv1d",
                r"model/net=transformer", r"make_series", r"models\.sequence"],
    "optuna": [r"optuna", r"hparams_search"],
    "export": [r"export\.py", r"\bonnx", r"TorchScript", r"ExportedProgram", r"exported_program"],
    "loggers": [r"tensorboard", r"mlflow", r"wandb", r"Weights & Biases"],
    "slurm": [r"launcher=slurm", r"submitit", r"sbatch"],
    "tabular_trunks": [r"\bplr", r"tabm", r"resmlp", r"ResidualMLP"],
    "ordinal": [r"ordinal", r"\bCORN\b"],
    "demos": [r"us_employment", r"nyc_flights", r"diamonds", r"US employment", r"NYC flights"],
    "figures": [r"matplotlib", r"figures\.py", r"report\.figures", r"per_channel_accuracy\.png", r"per_channel_confusion\.png",
                r"accuracy_figure", r"confusion_grid"],
    "compare": [r"compare_runs", r"tools[/.]compare\b", r"\bcompare\.py"],
    "faults": [r"runtime[/.]faults", r"callbacks=faults", r"NonFiniteLoss", r"non_finite_loss", r"LastCheckpoint",
               r"callbacks\.last_checkpoint", r"SigtermAtStepEnd", r"AtomicCheckpointIO", r"every_n_train_steps"],
    "speed": [r"LeanHooks", r"NoProfiler", r"speed\.py", r"runtime\.speed", r"lean_hooks", r"no_profiler",
              r"share_scalar_conversions", r"call_overriding_callbacks"],
}  # fmt: skip
PARTS = list(NAMES)


def sh(*cmd, cwd: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600, env=env or clean_env()
    )
    if check:
        assert result.returncode == 0, (
            f"{' '.join(map(str, cmd))}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def clean_env() -> dict:
    """Git commits without a configured identity; the outer run's pytest options stay out."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTEST_ADDOPTS"}}
    return env | {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                  "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip


def clone_template(tmp_path: Path) -> Path:
    """The committed repository, cloned: Copier copies a git template's commits, not its work tree."""
    template = tmp_path / "template"
    sh("git", "clone", "--quiet", REPO_ROOT, template, cwd=tmp_path)
    return template


def copier(*args, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return sh(sys.executable, "-m", "copier", *args, cwd=cwd, check=check)


def copy_project(
    template: Path, dest: Path, *, left_out=(), name: str = "churn-model", check: bool = True, vcs_ref="HEAD"
):
    """A project from `vcs_ref`: by default the commit under test, not the latest release tag."""
    answers = [f"project_name={name}", *(f"{part}=false" for part in left_out)]
    data = [arg for answer in answers for arg in ("-d", answer)]
    return copier(
        "copy", "--trust", "--defaults", "--quiet", "--vcs-ref", vcs_ref, *data, template, dest,
        cwd=dest.parent, check=check,
    )  # fmt: skip


def text_files(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.parts and path.suffix not in {".csv", ".png"}:
            try:
                yield path, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def mentions(root: Path, part: str) -> list[str]:
    """`file:line: text` of each line that names `part` (the answers file records every answer)."""
    pattern = re.compile("|".join(NAMES[part]), re.IGNORECASE)
    return [
        f"{path.relative_to(root)}:{number}: {line.strip()[:120]}"
        for path, text in text_files(root)
        if path.name != ".copier-answers.yml"
        for number, line in enumerate(text.splitlines(), 1)
        if pattern.search(line)
    ]


def src_lines(root: Path) -> int:
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in (root / "src").rglob("*.py"))


def run_tests(project: Path, *args: str) -> subprocess.CompletedProcess:
    """The project's own tests, on its own package (its src/ first on the path), in this environment."""
    env = clean_env() | {"PYTHONPATH": str(project / "src")}
    return sh(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, cwd=project, env=env)
