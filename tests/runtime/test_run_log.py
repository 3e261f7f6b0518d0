"""A run's log file holds what the terminal shows (run dir, data summary, Lightning's messages,
warnings, final metrics), and the terminal is spared Lightning's adverts and its LeafSpec
deprecation. A small table also keeps its step losses."""

from __future__ import annotations

import csv
import json
import logging
import warnings
from pathlib import Path

import pytest
from lightning.pytorch.utilities import CombinedLoader

from multiout.runtime.run_log import quiet_lightning
from tests.helpers import quiet_trainer, read_metrics, run_in_process

# 400 rows: 320 training rows in batches of 64 is 5 batches per epoch, fewer than the
# default log_every_n_steps (25).
SMALL = ["data.num_samples=400", "data.batch_size=64", "trainer.max_epochs=2"]
QUIET = [
    "trainer.enable_progress_bar=false",
    "callbacks.rich_progress_bar=null",
    "callbacks.per_channel_report.figures=false",  # part: figures
    "print_config=false",
]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, str]:
    """The default training config on a small table, in this process: (run dir, stderr)."""
    run_dir = tmp_path_factory.mktemp("small") / "run"
    code, stderr = run_in_process("train", f"hydra.run.dir={run_dir}", *SMALL, *QUIET)
    assert code == 0, stderr[-20:]
    return run_dir, "\n".join(stderr)


def test_train_log_holds_the_run_dir_the_data_summary_and_the_final_metrics(small_run):
    run_dir, _ = small_run
    log = (run_dir / "train.log").read_text()
    metrics = read_metrics(run_dir)
    assert f"run dir: {run_dir}" in log
    # 400 rows, val and test a tenth each.
    assert "rows: train 320, val 40, test 40" in log
    assert "features: 32: 32 numeric" in log and "channels: 47 (ch00, ch01, ch02, ..., ch45, ch46)" in log
    assert (
        "labels per channel: 0 -> class 0, 1 -> class 1, 2 -> class 2; training shares" in log
        and "cpu threads: " in log
    )
    assert "GPU available: False" in log  # Lightning's own messages
    assert f"test/acc = {metrics['test/acc']:.4f}" in log
    summary = json.loads((run_dir / "data_summary.json").read_text())
    assert summary["rows"] == {"train": 320, "val": 40, "test": 40}
    assert len(summary["channels"]) == 47 and summary["num_classes"] == 3
    counts = summary["train_label_counts"]
    assert all(sum(counts[channel]) == 320 for channel in summary["channels"])  # no missing labels


def test_a_small_table_logs_its_step_loss_without_lightnings_warning(small_run):
    run_dir, stderr = small_run
    rows = list(csv.DictReader((run_dir / "csv" / "metrics.csv").open()))
    steps = [int(row["step"]) for row in rows if row.get("train/loss_step")]
    assert steps == [4, 9]  # the last of each epoch's 5 steps
    assert "smaller than the logging interval" not in stderr


def test_the_run_is_quiet_and_its_warnings_reach_the_log(small_run):
    run_dir, stderr = small_run
    log = (run_dir / "train.log").read_text()
    for noise in ("Tip:", "litlogger", "litmodels", "LeafSpec"):
        assert noise not in stderr and noise not in log


def test_lightning_still_triggers_the_leafspec_warning_that_is_filtered():
    """Fails once Lightning no longer constructs a LeafSpec: then `quiet_lightning`'s filter can go."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CombinedLoader([[1, 2]])
    leaf = [w for w in caught if "LeafSpec" in str(w.message)]
    assert leaf and leaf[0].category is FutureWarning and leaf[0].filename.endswith("_pytree.py")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_lightning()
        CombinedLoader([[1, 2]])
        warnings.warn("a FutureWarning of someone else's", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["a FutureWarning of someone else's"]


def test_lightning_adverts_are_dropped_and_its_other_messages_kept(tmp_path):
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    lightning_logger = logging.getLogger("lightning.pytorch")
    lightning_logger.addHandler(handler)
    try:
        quiet_lightning()
        from lightning.pytorch.loggers import CSVLogger

        quiet_trainer(tmp_path, logger=CSVLogger(tmp_path), enable_checkpointing=True)
    finally:
        lightning_logger.removeHandler(handler)
    assert any("GPU available" in message for message in seen)
    assert not any("Tip:" in message for message in seen)
