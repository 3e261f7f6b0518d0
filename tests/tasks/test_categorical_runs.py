"""End to end on a CSV with text columns and gaps: train.py, then predict.py and evaluate.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tests.helpers import read_metrics

pytestmark = pytest.mark.slow

LABELS = ["down", "flat", "up"]
FAST = ["data=tabular", "data.batch_size=64", "trainer.max_epochs=3", "model.net.hidden_sizes=[16]"]
# Figures are checked in test_tabular_runs.py.  # part: figures
NO_FIGURES = [
    "callbacks.per_channel_report.figures=false",  # part: figures
]


def table(n: int, seed: int) -> pd.DataFrame:
    """Labels that depend on a text column and on a number with gaps."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], size=n).astype(object)
    income = rng.normal(size=n)
    score = np.select([region == "north", region == "south"], [1.0, -1.0], 0.0) + income
    frame = pd.DataFrame({"key": [f"k{seed}-{i}" for i in range(n)], "region": region, "income": income})
    frame.loc[rng.random(n) < 0.1, "region"] = None
    frame.loc[rng.random(n) < 0.2, "income"] = np.nan
    for name, shift in [("y_a", 0.0), ("y_b", 0.5)]:
        frame[name] = np.array(LABELS)[np.digitize(score + shift, [-0.5, 0.5])]
    return frame


def test_train_then_predict_and_evaluate_with_categories_and_gaps(run, entry, tmp_path):
    train_csv, new_csv = tmp_path / "train.csv", tmp_path / "new.csv"
    table(400, 0).to_csv(train_csv, index=False)
    new = table(30, 1).drop(columns=["y_a", "y_b"])
    new.loc[[0, 3], "region"] = "west"  # never seen in training
    new.to_csv(new_csv, index=False)
    labels = f"data.label_values=[{','.join(LABELS)}]"
    run_dir = tmp_path / "train"  # in-process; predict.py below is a real launch
    args = [
        f"hydra.run.dir={run_dir}",
        *FAST,
        f"data.path={train_csv}",
        "data.id_column=key",
        labels,
        *NO_FIGURES,
    ]
    code, stderr = entry("train", *args)
    assert code == 0, stderr[-20:]
    ckpt = read_metrics(run_dir)["ckpt_path"]
    saved = torch.load(ckpt, weights_only=True)["hyper_parameters"]
    assert saved["data"]["input"]["categorical"] == {"region": ["east", "north", "south", None]}
    assert saved["data"]["input"]["imputed"] == ["income"]

    result, pred_dir = run("predict.py", f"ckpt_path={ckpt}", f"data.predict_path={new_csv}", name="predict")
    assert "predict: 2 values of 'region' not seen in training -> unknown" in result.stdout + result.stderr
    predictions = pd.read_csv(pred_dir / "predictions.csv")
    assert list(predictions["key"]) == list(new["key"])
    assert set(predictions[["y_a", "y_b"]].to_numpy().ravel()) <= set(LABELS)

    eval_dir = tmp_path / "evaluate"
    code, stderr = entry("evaluate", f"hydra.run.dir={eval_dir}", f"ckpt_path={ckpt}", *NO_FIGURES)
    assert code == 0, stderr[-20:]
    assert read_metrics(eval_dir)["test/acc"] == pytest.approx(read_metrics(run_dir)["test/acc"])
