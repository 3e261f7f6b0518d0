"""Shared fixtures: running the root scripts as a user would, in a temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest

from multiout.models.classifier import MultiOutputClassifier

REPO_ROOT = Path(__file__).resolve().parents[1]

# Small, fast data for end-to-end runs; every test can override further.
SMALL_DATA = ["data.num_samples=2000", "data.batch_size=64"]


def small_classifier(num_features: int = 6, num_channels: int = 4, **overrides) -> MultiOutputClassifier:
    """A 3-class model with one hidden layer of 8: fast enough to fit inside a unit test."""
    kwargs = {
        "num_features": num_features,
        "num_channels": num_channels,
        "num_classes": 3,
        "net": {"class_path": "multiout.models.mlp.MLP", "hidden_sizes": [8]},
        "optimizer": {"name": "AdamW", "lr": 1e-3},
    }
    return MultiOutputClassifier(**{**kwargs, **overrides})


def quiet_trainer(tmp_path: Path, **options) -> L.Trainer:
    """A Trainer that writes and prints nothing (no logger, checkpoints, progress bar or model
    summary) and leaves sharding to the data modules, as every trainer config does."""
    defaults = {
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "use_distributed_sampler": False,
        "default_root_dir": tmp_path,
    }
    return L.Trainer(**{**defaults, **options})


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
