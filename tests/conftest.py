"""Shared fixtures: running the root scripts as a user would, in a temporary directory or,
where the interpreter start is not what a test is about, inside the test process."""

from __future__ import annotations

import logging
import runpy
import sys
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra

from tests.helpers import REPO_ROOT, run_script


@pytest.fixture
def run(tmp_path: Path):
    """Run a root script with its run dir at `tmp_path/<name>`; fail with its output if it fails."""

    def _run(script: str, *overrides: str, name: str = "run", expect_ok: bool = True):
        run_dir = tmp_path / name
        result = run_script(script, f"hydra.run.dir={run_dir}", *overrides, cwd=tmp_path)
        if expect_ok and result.returncode != 0:
            pytest.fail(
                f"{script} {' '.join(overrides)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result, run_dir

    return _run


@pytest.fixture
def entry(monkeypatch, capsys):
    """`python <script>.py <args>` inside this process: (exit code, stderr lines). The same
    entry code as from the shell, without the seconds a new interpreter takes to import torch,
    Lightning and Hydra; a run that ends normally has exit code 0."""
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    handlers = {name: list(logging.getLogger(name).handlers) for name in ("", "hydra")}

    def _entry(script: str, *args: str) -> tuple[int | str | None, list[str]]:
        monkeypatch.setattr(sys, "argv", [f"{script}.py", *args])
        try:
            runpy.run_path(str(REPO_ROOT / f"{script}.py"), run_name="__main__")
            code: int | str | None = 0
        except SystemExit as stopped:
            code = stopped.code
        finally:
            GlobalHydra.instance().clear()
        return code, capsys.readouterr().err.splitlines()

    yield _entry
    for name, kept in handlers.items():  # Hydra set up its logging for the run
        logging.getLogger(name).handlers[:] = kept
