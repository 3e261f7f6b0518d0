"""Runs survive faults: a kill, a SIGTERM, a reused run dir. Real processes, real signals."""

from __future__ import annotations

import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

# Four epochs of 25 batches: room to interrupt a run three times (after steps 25, 30, 50) before it ends.
RUN = [
    "data.num_samples=2000",
    "data.batch_size=64",
    "trainer.max_epochs=4",
    "trainer.accelerator=cpu",
    "trainer.deterministic=true",
    "++trainer.enable_progress_bar=false",
    "callbacks.rich_progress_bar=null",
    "callbacks.rich_model_summary=null",
    "callbacks.per_channel_report.figures=false",  # part: figures
]
# One thread per process: the runs below share the machine's cores.
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0", "OMP_NUM_THREADS": "1"}


def start(run_dir: Path, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "train.py"), f"hydra.run.dir={run_dir}", *RUN, *overrides],
        cwd=run_dir.parent,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, expect: int = 0) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == expect, (
        f"exit {proc.returncode}, expected {expect}:\n{out[-3000:]}\n{err[-3000:]}"
    )
    return out + err


def signal_at_next_checkpoint(proc: subprocess.Popen, run_dir: Path, signum: int) -> None:
    """Send `signum` as soon as the run has written a new `last.ckpt`."""
    last = run_dir / "checkpoints" / "last.ckpt"
    before = last.stat().st_mtime_ns if last.exists() else None
    while not last.exists() or last.stat().st_mtime_ns == before:
        assert proc.poll() is None, (
            f"the run ended before writing a checkpoint:\n{proc.stderr.read()[-3000:]}"
        )
        time.sleep(0.02)
    proc.send_signal(signum)


def checkpoint_step(run_dir: Path) -> int:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]


def files(run_dir: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


def metrics(run_dir: Path) -> dict:
    found = json.loads((run_dir / "metrics.json").read_text())
    # Runs in different dirs test checkpoints of different paths; the file name must agree.
    found["ckpt_path"] = Path(found["ckpt_path"]).name
    return found


# The interrupted run's attempts: the signal that ends each (after its next checkpoint), and
# extra overrides. The second attempt also checkpoints mid-epoch, every 10 of 25 steps.
ATTEMPTS = [
    (signal.SIGTERM, []),
    (signal.SIGKILL, ["callbacks.last_checkpoint.every_n_train_steps=10"]),
    (signal.SIGKILL, []),
    (None, []),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """A reference run left alone, and beside it the same run interrupted three times: by
    SIGTERM after its first checkpoint, by SIGKILL after a mid-epoch checkpoint and after an
    epoch-end one; each time resumed with `resume=auto`."""
    root = tmp_path_factory.mktemp("faults")
    reference, broken = root / "reference", root / "broken"
    reference_proc = start(reference)
    stopped_at, guard = [], None
    for attempt, (signum, overrides) in enumerate(ATTEMPTS):
        if attempt == 2:
            # Meanwhile, a new run pointed at the finished reference run's dir must refuse it.
            finish(reference_proc)
            reference_files = files(reference)
            guard = start(reference)
        proc = start(broken, *overrides, *(["resume=auto"] if attempt else []))
        if signum is None:
            finish(proc)
            break
        signal_at_next_checkpoint(proc, broken, signum)
        if signum == signal.SIGTERM:
            # The hint repeats the launch's own overrides (so the same world size and data),
            # all but the run dir, which `resume` names.
            hint = f"stopped by SIGTERM; continue with: python train.py {shlex.join(RUN)} resume={broken}"
            assert hint in finish(proc, expect=128 + signal.SIGTERM)
        else:
            finish(proc, expect=-signum)
        assert not (broken / "metrics.json").exists()
        stopped_at.append(checkpoint_step(broken))
    return {
        "reference": reference,
        "broken": broken,
        "stopped_at": stopped_at,
        "guard_output": finish(guard, expect=2),
        "files_before_guard": reference_files,
    }


def test_interrupted_and_resumed_run_ends_with_identical_metrics(runs):
    # 25 steps an epoch. SIGTERM stops after the batch in flight, usually mid-epoch; then a
    # SIGKILL after a step-10 checkpoint and one after an epoch-end checkpoint.
    terminated, killed_mid_epoch, killed_at_epoch_end = runs["stopped_at"]
    print(f"interrupted at steps {runs['stopped_at']}")
    assert 0 < terminated < killed_mid_epoch < killed_at_epoch_end < 4 * 25
    assert killed_at_epoch_end % 25 == 0
    assert metrics(runs["broken"]) == metrics(runs["reference"])
    assert metrics(runs["reference"])["seed"] == 42


def test_resumed_run_keeps_its_config_and_appends_to_its_logs(runs):
    broken = runs["broken"]
    hydra = broken / ".hydra"
    assert (hydra / "config.yaml").is_file()
    assert (hydra / "resume_1" / "overrides.yaml").read_text() != (hydra / "overrides.yaml").read_text()
    assert (hydra / "resume_3" / "overrides.yaml").is_file()
    with open(broken / "csv" / "metrics.csv", newline="") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f)]
    # Rows from before the first interruption are kept, and the last attempt's are added.
    assert min(steps) < runs["stopped_at"][0] and max(steps) > runs["stopped_at"][-1]
    assert "resuming from" in (broken / "train.log").read_text()


def test_a_new_run_refuses_a_used_run_dir(runs):
    run_dir = runs["reference"]
    assert f"error: hydra.run.dir: {run_dir} already holds a run" in runs["guard_output"]
    assert files(run_dir) == runs["files_before_guard"]
