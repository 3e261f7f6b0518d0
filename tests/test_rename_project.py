"""Forking: a renamed copy of the repository installs, imports and passes tests under its new name."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

NEW = "forked_pkg"
NOT_COPIED = shutil.ignore_patterns(
    ".git", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", "outputs", "multirun", "wandb", "mlruns",
    "mlflow.db", ".venv", "venv",
)  # fmt: skip


def sh(*cmd, cwd, env):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


@pytest.mark.slow
def test_renamed_copy_installs_and_passes_tests(tmp_path):
    (old,) = [p.parent.name for p in (REPO_ROOT / "src").glob("*/__init__.py")]
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT, repo, ignore=NOT_COPIED)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the copy's install counts
    sh(sys.executable, "scripts/rename_project.py", NEW, cwd=repo, env=env)

    assert (repo / "src" / NEW / "__init__.py").is_file() and not (repo / "src" / old).exists()
    leftover = re.compile(rf"\b{old}\b")
    stale = [
        str(path.relative_to(repo))
        for path in repo.rglob("*")
        if path.is_file() and path.suffix in {".py", ".yaml", ".toml", ".md", ".yml", ""}
        and leftover.search(path.read_text(errors="ignore"))
    ]  # fmt: skip
    assert not stale, f"still naming {old}: {stale}"
    assert f'name = "{NEW}"' in (repo / "pyproject.toml").read_text()

    # Its own environment: the current one's packages, plus the copy installed in place.
    sh(
        sys.executable,
        "-m",
        "venv",
        "--system-site-packages",
        "--without-pip",
        tmp_path / "venv",
        cwd=tmp_path,
        env=env,
    )
    python = str(tmp_path / "venv" / "bin" / "python")
    install = [python, "-m", "pip", "install", "-q", "--no-deps", "-e", str(repo)]
    try:  # offline, with the setuptools at hand
        sh(*install, "--no-build-isolation", cwd=tmp_path, env=env)
    except AssertionError:  # e.g. a setuptools too old to build it: let pip fetch one
        sh(*install, cwd=tmp_path, env=env)
    found = sh(python, "-c", f"import {NEW}; print({NEW}.__file__)", cwd=tmp_path, env=env).stdout
    assert found.strip() == str(repo / "src" / NEW / "__init__.py")

    # Quick tests that import the package and build models from the renamed configs.
    quick = ["tests/data", "tests/models", "tests/metrics", "-m", "not slow", "-p", "no:cacheprovider"]
    sh(python, "-m", "pytest", "-q", *quick, cwd=repo, env=env)
