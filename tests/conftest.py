"""Shared fixtures: running the root scripts as a user would, in a temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Small, fast data for end-to-end runs; every test can override further.
SMALL_DATA = ["data.num_samples=2000", "data.batch_size=64"]


def run_script(script: str, *overrides: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python <repo>/<script> <overrides>` from `cwd`, as a user would type it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / script), *overrides],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,  # runs must never wait for input: a prompt would fail here
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


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
