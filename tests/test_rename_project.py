"""Forking: a renamed copy of the repository installs, imports and passes tests under its new name."""

import os
import re
import shutil
import site
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

NEW = "forked_pkg"
NOT_COPIED = shutil.ignore_patterns(
    ".git", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", ".mypy_cache", "outputs", "multirun",
    "wandb", "mlruns", "mlflow.db", ".venv", "venv", ".hypothesis", "mutants",
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
    # Only the copy's install counts; and the quick tests below pick their own tests, whatever
    # PYTEST_ADDOPTS (a `-k`, say) the outer run was given.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTEST_ADDOPTS"}}
    sh(sys.executable, "scripts/rename_project.py", NEW, cwd=repo, env=env)

    assert (repo / "src" / NEW / "__init__.py").is_file() and not (repo / "src" / old).exists()
    # The Hydra sweeper's folder too: two forks installed side by side share `hydra_plugins`.
    assert [p.name for p in (repo / "src" / "hydra_plugins").iterdir()] == [f"{NEW}_optuna_sweeper"]
    leftover = re.compile(rf"\b{old}(\b|_)")
    stale = [
        str(path.relative_to(repo))
        for path in repo.rglob("*")
        if path.is_file() and path.suffix in {".py", ".yaml", ".toml", ".md", ".yml", ".sh", ".sbatch", ".json", ""}
        and leftover.search(path.read_text(errors="ignore"))
    ]  # fmt: skip
    assert not stale, f"still naming {old}: {stale}"
    assert f'name = "{NEW}"' in (repo / "pyproject.toml").read_text()

    # Its own environment: the current one's packages, plus the copy installed in place. Not
    # `--system-site-packages`: from inside a venv (the README's setup) that would reach the base
    # interpreter's packages, not this one's. A .pth file appends this interpreter's site dirs after
    # the new venv's own; their .pth files are not run, so the original's editable install stays out.
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path, env=env)
    python = str(venv / "bin" / "python")
    inner_site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    outer_site = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
    (inner_site / "outer_env.pth").write_text("".join(f"{d}\n" for d in outer_site))
    install = [python, "-m", "pip", "install", "-q", "--no-deps", "-e", str(repo)]
    try:  # offline, with the setuptools at hand
        sh(*install, "--no-build-isolation", cwd=tmp_path, env=env)
    except AssertionError:  # e.g. a setuptools too old to build it: let pip fetch one
        sh(*install, cwd=tmp_path, env=env)
    found = sh(python, "-c", f"import {NEW}; print({NEW}.__file__)", cwd=tmp_path, env=env).stdout
    assert found.strip() == str(repo / "src" / NEW / "__init__.py")
    plugin = f"hydra_plugins.{NEW}_optuna_sweeper"
    code = (
        f"import {plugin}.config, {plugin}.sweeper; from hydra.core.config_store import ConfigStore; "
        f"print(ConfigStore.instance().load('hydra/sweeper/optuna.yaml').node._target_)"
    )
    assert sh(python, "-c", code, cwd=tmp_path, env=env).stdout.strip() == f"{plugin}.sweeper.OptunaSweeper"

    # Under the new name: every config's `_target_`s built (data modules, trunks, the model),
    # a composed run trained in-process, and a checkpoint loaded by its class path.
    quick = [
        "tests/runtime/test_configs.py", "tests/runtime/test_checkpoint_trust.py",
        "-k", "composes or fast_dev_run_of or foreign_class", "-p", "no:cacheprovider",
    ]  # fmt: skip
    sh(python, "-m", "pytest", "-q", *quick, cwd=repo, env=env)
