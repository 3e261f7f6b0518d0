"""data=stream under DDP (`trainer=ddp_sim`, two processes): train, evaluate and predict as a
user runs them, checked against one process and against pandas reading the same files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data.stream_files import class_ids, write_dataset
from tests.helpers import REPO_ROOT, read_metrics, run_script

pytestmark = pytest.mark.slow

QUIET = ["trainer.enable_progress_bar=false", "callbacks.rich_progress_bar=null"]
# 110 rows in uneven files and row groups; batches of 8 over 2 processes neither pad nor drop.
DATA = ["data=stream", "data.exclude_columns=[key]", "data.batch_size=8", "data.shuffle_window=16"]
# tests.helpers for the callback that records the rows each process trained on.
ENV = {"PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}


def script(name: str, cwd: Path, *overrides: str) -> Path:
    run_dir = cwd / name
    result = run_script(f"{name.split('_')[0]}.py", f"hydra.run.dir={run_dir}", *overrides, cwd=cwd, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One DDP training run on a directory of uneven files, shared by the tests below."""
    root = tmp_path_factory.mktemp("stream")
    frame = write_dataset(root / "data")
    files = [f"data.{split}_path={root / 'data'}" for split in ("train", "val", "test")]
    run_dir = script(
        "train", root, *DATA, *QUIET, *files, "trainer=ddp_sim", "trainer.max_epochs=1",
        "+callbacks.rows._target_=tests.helpers.RecordTrainingRows", f"+callbacks.rows.dirpath={root / 'rows'}",
    )  # fmt: skip
    return root, run_dir, frame


def test_two_processes_train_on_every_row_once_in_equal_steps(trained):
    root, _, frame = trained
    seen = [
        [int(line) for line in (root / "rows" / f"rows_{rank}.txt").read_text().split()] for rank in (0, 1)
    ]
    # 7 batches each: 110 rows cut into 14 chunks of 8 or 7 rows (as np.array_split cuts), 7 per process.
    chunks = [len(chunk) for chunk in np.array_split(np.arange(len(frame)), 14)]
    assert [len(seen[0]), len(seen[1])] == [sum(chunks[:7]), sum(chunks[7:])]
    assert sorted(seen[0] + seen[1]) == list(range(len(frame)))


def test_ddp_evaluation_and_prediction_equal_one_process_and_pandas(trained):
    root, run_dir, frame = trained
    ckpt = read_metrics(run_dir)["ckpt_path"]
    test = [*DATA, f"data.test_path={root / 'data' / 'part-*.parquet'}", f"ckpt_path={ckpt}", "logger=none"]
    single = read_metrics(script("evaluate_single", root, *test, "trainer=cpu", "callbacks=none"))
    ddp = read_metrics(script("evaluate_ddp", root, *test, "trainer=ddp_sim", "callbacks=none"))
    assert ddp["test/acc_per_channel"] == single["test/acc_per_channel"]
    assert ddp["test/loss"] == pytest.approx(single["test/loss"], rel=1e-6)  # float sums in another order

    new = [*DATA, f"data.predict_path={root / 'data'}", f"ckpt_path={ckpt}", "data.id_column=key"]
    one = pd.read_csv(script("predict_single", root, *new, "trainer=cpu") / "predictions.csv")
    two = pd.read_csv(script("predict_ddp", root, *new, "trainer=ddp_sim") / "predictions.csv")
    assert two["key"].tolist() == frame["key"].tolist()  # input order, across both processes
    pd.testing.assert_frame_equal(two, one)
    # The predictions score what evaluation reported, counted here with pandas.
    truth = class_ids(frame)
    for c, name in enumerate(["y_a", "y_b", "y_c"]):
        labelled = truth[:, c] >= 0
        predicted = two[name].map({-1: 0, 0: 1, 1: 2}).to_numpy()
        accuracy = np.mean(predicted[labelled] == truth[labelled, c])
        assert single["test/acc_per_channel"][c] == pytest.approx(accuracy, abs=1e-12)
