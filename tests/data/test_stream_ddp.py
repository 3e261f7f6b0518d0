"""data=stream under DDP (`trainer=ddp_sim`, two processes): train, test and predict as a
user runs them, checked against pandas reading the same files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.data.stream_files import class_ids, write_dataset
from tests.helpers import REPO_ROOT, read_metrics, run_script

pytestmark = pytest.mark.slow

QUIET = [
    "trainer.enable_progress_bar=false",
    "callbacks.rich_progress_bar=null",
    "callbacks.per_channel_report.figures=false",  # part: figures
]
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
    files = [f"data.{split}_path={root / 'data'}" for split in ("train", "val")]
    files.append(f"data.test_path={root / 'data' / 'part-*.parquet'}")  # the same files, by a glob
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


def test_ddp_evaluation_and_prediction_agree_with_pandas(trained):
    """Testing under DDP (training's own test; evaluate.py under DDP: tests/tasks/test_end_to_end.py)
    scores every row once: its accuracy and loss are those of the DDP predictions (complete, in
    input order), counted here with pandas against the files."""
    root, run_dir, frame = trained
    evaluated = read_metrics(run_dir)
    new = [
        "data.batch_size=8",
        f"data.predict_path={root / 'data'}",
        f"ckpt_path={evaluated['ckpt_path']}",
        "data.id_column=key",
    ]
    predict = ["trainer=ddp_sim", "save_probabilities=true"]
    predicted = pd.read_csv(script("predict", root, *new, *predict) / "predictions.csv")
    assert predicted["key"].tolist() == frame["key"].tolist()  # input order, across both processes

    truth, losses = class_ids(frame), []
    for c, name in enumerate(["y_a", "y_b", "y_c"]):
        labelled = truth[:, c] >= 0
        classes = predicted[name].map({-1: 0, 0: 1, 1: 2}).to_numpy()
        accuracy = np.mean(classes[labelled] == truth[labelled, c])
        assert evaluated["test/acc_per_channel"][c] == pytest.approx(accuracy, abs=1e-12)
        probabilities = predicted[[f"{name}_prob_{v}" for v in (-1, 0, 1)]].to_numpy()
        losses += list(-np.log(probabilities[labelled, truth[labelled, c]]))
    assert evaluated["test/loss"] == pytest.approx(np.mean(losses), rel=1e-5)  # probabilities as CSV text
