"""Shared fixtures: running the root scripts as a user would, in a temporary directory or,
where the interpreter start is not what a test is about, inside the test process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_in_process, run_script


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
def entry():
    """`python <script>.py <args>` inside this process: (exit code, stderr lines)."""
    return run_in_process
