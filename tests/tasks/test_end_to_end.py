"""The root scripts run as a user runs them: real processes, real files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from tests.helpers import SMALL_DATA, read_metrics, run_script

pytestmark = pytest.mark.slow

# 203 test rows: not a multiple of 2 processes x 64, so DDP evaluation must neither pad nor drop.
DATA = ["data.num_samples=2030", "data.batch_size=64"]
# The figures: tests/object_store/test_outputs.py.  # part: figures
QUIET = [
    "trainer.enable_progress_bar=false",
    "callbacks.per_channel_report.figures=false",  # part: figures
]
QUIET_TRAIN = [*QUIET, "callbacks.rich_progress_bar=null"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One short training run shared by the tests below."""
    cwd = tmp_path_factory.mktemp("trained")
    run_dir = cwd / "run"
    result = run_script(
        "train.py", f"hydra.run.dir={run_dir}", *DATA, *QUIET_TRAIN, "trainer.max_epochs=2", cwd=cwd
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_training_run_writes_its_outputs(trained):
    metrics = read_metrics(trained)
    for stage in ("val", "test"):
        assert len(metrics[f"{stage}/acc_per_channel"]) == 47
        assert metrics[f"{stage}/acc"] == pytest.approx(sum(metrics[f"{stage}/acc_per_channel"]) / 47)
        assert 0.5 < metrics[f"{stage}/acc"] < metrics[f"{stage}/bayes_acc"] + 0.05
    assert metrics["seed"] == 42
    assert Path(metrics["ckpt_path"]).parent == trained / "checkpoints"
    assert (trained / "checkpoints" / "last.ckpt").is_file()
    assert (trained / ".hydra" / "config.yaml").is_file()
    rows = list(csv.DictReader((trained / "csv" / "metrics.csv").open()))
    logged = set().union(*(row.keys() for row in rows))
    assert {
        "train/loss_step",
        "train/acc_epoch",
        "val/loss",
        "val/acc",
        "val/acc/ch00",
        "val/acc/ch46",
    } <= logged
    step_rows = [row for row in rows if row.get("train/loss_step")]
    assert step_rows and all(
        not row.get("val/acc/ch00") for row in step_rows
    )  # per-channel: epoch level only


def test_evaluate_reproduces_the_train_time_test(trained, entry, tmp_path):
    metrics = read_metrics(trained)
    eval_dir = tmp_path / "eval"
    code, stderr = entry(
        "evaluate", f"hydra.run.dir={eval_dir}", f"ckpt_path={metrics['ckpt_path']}", "data.batch_size=64"
    )
    assert code == 0, stderr[-20:]
    evaluated = read_metrics(eval_dir)
    for key in ("test/loss", "test/acc", "test/acc_per_channel", "test/bayes_acc"):
        assert evaluated[key] == metrics[key], key


def test_ddp_evaluation_equals_one_process(trained, run):
    """Against training's own test, in one process (which evaluate.py reproduces, above)."""
    one = read_metrics(trained)
    _, ddp = run(
        "evaluate.py",
        f"ckpt_path={one['ckpt_path']}",
        "data.batch_size=64",
        *QUIET,
        "trainer=ddp_sim",
        name="ddp",
    )
    two = read_metrics(ddp)
    assert two["test/acc_per_channel"] == one["test/acc_per_channel"]
    assert two["test/acc"] == one["test/acc"]
    assert two["test/loss"] == pytest.approx(one["test/loss"], rel=1e-6)  # float sums in another order
    # 203 test rows per channel: each accuracy is a multiple of 1/203 (no sample counted twice or dropped).
    assert all(abs(a * 203 - round(a * 203)) < 1e-4 for a in two["test/acc_per_channel"])


def test_resume_continues_from_last_checkpoint(trained, entry, tmp_path):
    last = trained / "checkpoints" / "last.ckpt"
    before = torch.load(last, weights_only=True)
    resumed = tmp_path / "resumed"
    code, stderr = entry(
        "train", f"hydra.run.dir={resumed}", f"ckpt_path={last}", *DATA, *QUIET_TRAIN, "trainer.max_epochs=3"
    )
    assert code == 0, stderr[-20:]
    after = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    assert (before["epoch"], after["epoch"]) == (1, 2)
    assert after["global_step"] == 3 * before["global_step"] // 2  # one more epoch, not three
    rows = csv.DictReader((resumed / "csv" / "metrics.csv").open())
    assert {row["epoch"] for row in rows if row["train/loss_epoch"]} == {"2"}  # only the new epoch trained


def test_multirun_runs_one_job_per_value(entry, tmp_path):
    sweep = tmp_path / "sweep"
    code, stderr = entry(
        "train", "-m", f"hydra.sweep.dir={sweep}", "model.optimizer.lr=0.01,0.001", "debug=fdr",
        *SMALL_DATA, *QUIET_TRAIN,
    )  # fmt: skip
    assert code == 0, stderr[-20:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]
    for job in ("0", "1"):
        assert "test/acc" in read_metrics(sweep / job)
    assert "model.optimizer.lr=0.001" in (sweep / "1" / ".hydra" / "overrides.yaml").read_text()
