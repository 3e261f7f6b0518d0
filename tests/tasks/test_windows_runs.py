"""data=windows with the sequence trunks, run as a user runs them: train, evaluate from the
checkpoint alone (the same test metrics, bit for bit), predict one row per window end, a row
trunk stopped in one line, and DDP evaluation equal to one process."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from tests.helpers import read_metrics

QUIET = [
    "trainer.enable_progress_bar=false",
    "callbacks.per_channel_report.figures=false",  # part: figures
]


def lagged_series(path, groups: int = 3, steps: int = 300, seed: int = 0) -> str:
    """Series whose labels are the sign of feature `a` two steps back: the current row alone says
    nothing about them."""
    rng = np.random.default_rng(seed)
    parts = []
    for g in range(groups):
        a = rng.normal(size=steps)
        lagged = np.roll(a, 2)
        part = pd.DataFrame({"day": np.arange(steps), "store": f"s{g}", "a": a, "b": rng.normal(size=steps)})
        part["id"] = [f"s{g}-{t}" for t in range(steps)]
        part["y_up"] = np.where(lagged > 0.3, 1, np.where(lagged < -0.3, -1, 0))
        part["y_down"] = -part["y_up"]
        parts.append(part)
    frame = pd.concat(parts).sample(frac=1.0, random_state=seed)  # sorted back by day and store
    frame.to_csv(path, index=False)
    return str(path)


def windows_args(path: str, net: str = "gru") -> list[str]:
    return [
        "data=windows", f"data.path={path}", "data.window=4", "data.time_column=day",
        "data.group_column=store", "data.id_column=id", "data.batch_size=32",
        f"model/net={net}", "trainer.max_epochs=4", "callbacks.rich_progress_bar=null", *QUIET,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.helpers import run_in_process

    cwd = tmp_path_factory.mktemp("windows")
    path = lagged_series(cwd / "series.csv")
    code, stderr = run_in_process("train", f"hydra.run.dir={cwd / 'run'}", *windows_args(path))
    assert code == 0, stderr[-20:]
    return cwd


def test_a_gru_on_windows_learns_what_the_row_alone_cannot_say(trained):
    metrics = read_metrics(trained / "run")
    assert metrics["test/acc"] > 0.55  # a row alone says nothing: the majority class, 0.38


def test_evaluate_reproduces_the_training_runs_test_metrics(trained, entry, tmp_path):
    metrics = read_metrics(trained / "run")
    code, stderr = entry(
        "evaluate", f"hydra.run.dir={tmp_path / 'eval'}", f"ckpt_path={metrics['ckpt_path']}", *QUIET
    )
    assert code == 0, stderr[-20:]
    evaluated = read_metrics(tmp_path / "eval")
    for key in ("test/loss", "test/acc", "test/acc_per_channel"):
        assert evaluated[key] == metrics[key], key


def test_predict_writes_one_row_per_window_end(trained, entry, tmp_path):
    metrics = read_metrics(trained / "run")
    frame = pd.read_csv(trained / "series.csv").drop(columns=["y_up", "y_down"])
    frame.to_csv(tmp_path / "new.csv", index=False)
    code, stderr = entry(
        "predict", f"hydra.run.dir={tmp_path / 'pred'}", f"ckpt_path={metrics['ckpt_path']}",
        f"data.predict_path={tmp_path / 'new.csv'}", "data.id_column=id", "trainer.enable_progress_bar=false",
    )  # fmt: skip
    assert code == 0, stderr[-20:]
    rows = list(csv.DictReader((tmp_path / "pred" / "predictions.csv").open()))
    ids = [row[next(iter(row))] for row in rows]
    expected = {f"s{g}-{t}" for g in range(3) for t in range(3, 300)}  # the first 3 of each series: no window
    assert len(ids) == len(expected) and set(ids) == expected


def test_a_row_trunk_on_windows_stops_with_one_line_naming_the_window_trunks(trained, entry, tmp_path):
    args = windows_args(str(trained / "series.csv"), net="mlp")
    code, stderr = entry("train", f"hydra.run.dir={tmp_path / 'mlp'}", *args)
    assert code == 2
    assert any("shape [4, 2]" in line and "model/net=conv1d" in line for line in stderr), stderr[-5:]


@pytest.mark.slow
def test_ddp_evaluation_on_windows_equals_one_process(trained, run):
    one = read_metrics(trained / "run")
    _, ddp = run("evaluate.py", f"ckpt_path={one['ckpt_path']}", "trainer=ddp_sim", *QUIET, name="ddp")
    two = read_metrics(ddp)
    assert two["test/acc_per_channel"] == one["test/acc_per_channel"]
    assert two["test/loss"] == pytest.approx(one["test/loss"], rel=1e-6)
