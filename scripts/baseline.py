"""Baselines on the template's own splits: majority class, and per-channel logistic regression
and gradient-boosted trees.

`python scripts/baseline.py` with any train.py overrides (without one that names the experiment
or the data: the data of `DEFAULT_DATA` below). The rows of every split are the ones the
template trains, selects and tests on: the data module is built from the same Hydra config as
`train.py` (`baseline_data.py`). Each channel is fitted on the training rows that have its
label, with one setting for all channels picked on the validation split (`C` for logistic
regression, the number of boosting rounds for the trees), and scored on the test split.
"""
# A table (`data=tabular data.path=my.csv`) is read by `baseline_tables.py`.  # part: tables

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from baseline_data import SPLITS, Split, category_columns, split_frames
from hydra import compose, initialize_config_dir
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from multiout.runtime.build import build, data_spec

CONF = Path(__file__).resolve().parents[1] / "conf"
C_GRID = (0.001, 0.01, 0.1, 1.0)
ROUNDS_GRID = (10, 25, 50, 100, 200, 400)  # the trees' boosting rounds, picked on validation
# Small trees for small tables; a fixed number of rounds (no early stopping) keeps fits comparable.
TREE_OPTIONS = {"learning_rate": 0.1, "max_leaf_nodes": 7, "l2_regularization": 1.0, "early_stopping": False}


def mean_accuracy(pred: np.ndarray, y: np.ndarray, ignore_index: int) -> float:
    """Mean over channels of accuracy on the labelled cells (channels without any skipped)."""
    labelled = y != ignore_index
    per_channel = [(pred[m, c] == y[m, c]).mean() for c in range(y.shape[1]) if (m := labelled[:, c]).any()]
    return float(np.mean(per_channel))


def majority(splits: dict[str, Split], ignore_index: int) -> float:
    y_train, y_test = splits["train"].y, splits["test"].y
    classes = [np.bincount(col[col != ignore_index]).argmax() for col in y_train.T]
    return mean_accuracy(np.broadcast_to(classes, y_test.shape), y_test, ignore_index)


def per_channel(
    fit: Callable[[pd.DataFrame, np.ndarray], Callable[[pd.DataFrame], list[np.ndarray]]],
    x: dict[str, pd.DataFrame],
    y_train: np.ndarray,
    ignore_index: int,
    num_settings: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each setting, the (validation, test) predictions `[N, C]` of one model per channel.

    `fit(x_rows, y_rows)` fits one channel on its labelled training rows and returns a
    function giving its predictions on new rows, one array per setting. A channel with one
    class in training predicts that class."""
    val = np.empty((num_settings, len(x["val"]), y_train.shape[1]), np.int64)
    test = np.empty((num_settings, len(x["test"]), y_train.shape[1]), np.int64)
    for c, col in enumerate(y_train.T):
        rows = np.flatnonzero(col != ignore_index)
        classes = np.unique(col[rows])
        if len(classes) == 1:
            val[:, :, c], test[:, :, c] = classes[0], classes[0]
            continue
        predict = fit(x["train"].iloc[rows], col[rows])
        val[:, :, c], test[:, :, c] = np.stack(predict(x["val"])), np.stack(predict(x["test"]))
    return list(zip(val, test, strict=True))


def pick_on_validation(
    settings: tuple,
    predictions: list[tuple[np.ndarray, np.ndarray]],
    splits: dict[str, Split],
    ignore_index: int,
) -> tuple[float, object]:
    """Test accuracy of the setting with the best validation accuracy, and that setting."""
    scores = [mean_accuracy(v, splits["val"].y, ignore_index) for v, _ in predictions]
    best = int(np.argmax(scores))
    return mean_accuracy(predictions[best][1], splits["test"].y, ignore_index), settings[best]


def logistic(splits: dict[str, Split], ignore_index: int) -> tuple[float, object]:
    """Test accuracy and the `C` chosen on validation. Numbers are median-imputed (with a gap
    indicator) and standardized, strings one-hot encoded, all fitted on the training split."""
    train = splits["train"]
    strings = category_columns(train.x)
    numbers = [name for name in train.x.columns if name not in strings]
    prepare = ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                numbers,
            ),
            ("strings", OneHotEncoder(handle_unknown="ignore", sparse_output=False), strings),
        ]
    ).set_output(transform="pandas")
    prepare.fit(train.x)
    x = {s: prepare.transform(splits[s].x) for s in SPLITS}

    def fit(x_rows: pd.DataFrame, y_rows: np.ndarray) -> Callable[[pd.DataFrame], list[np.ndarray]]:
        models = [LogisticRegression(C=c, max_iter=2000).fit(x_rows, y_rows) for c in C_GRID]
        return lambda rows: [m.predict(rows) for m in models]

    predictions = per_channel(fit, x, train.y, ignore_index, len(C_GRID))
    return pick_on_validation(C_GRID, predictions, splits, ignore_index)


def boosted_trees(splits: dict[str, Split], ignore_index: int) -> tuple[float, object]:
    """Test accuracy and the number of boosting rounds chosen on validation: one fit per
    channel, whose staged predictions give every number of rounds in the grid."""

    def fit(x_rows: pd.DataFrame, y_rows: np.ndarray) -> Callable[[pd.DataFrame], list[np.ndarray]]:
        model = HistGradientBoostingClassifier(
            max_iter=max(ROUNDS_GRID), categorical_features="from_dtype", random_state=0, **TREE_OPTIONS
        ).fit(x_rows, y_rows)
        return lambda rows: [p for i, p in enumerate(model.staged_predict(rows), 1) if i in ROUNDS_GRID]

    x = {s: splits[s].x for s in SPLITS}
    predictions = per_channel(fit, x, splits["train"].y, ignore_index, len(ROUNDS_GRID))
    return pick_on_validation(ROUNDS_GRID, predictions, splits, ignore_index)


BASELINES = {
    "majority class of the training split": lambda splits, ignore: (majority(splits, ignore), None),
    "logistic regression, C": logistic,
    "boosted trees, rounds": boosted_trees,
}


# What the baselines score unless an override chooses the experiment or the data.
DEFAULT_DATA: list[str] = []
DEFAULT_DATA = ["experiment=us_employment"]  # part: demos


def with_default_data(overrides: list[str]) -> list[str]:
    """`overrides` after `DEFAULT_DATA`, unless they choose the data themselves: so `seed=1`
    alone still scores the default table."""
    chosen = any(o.lstrip("+~").startswith(("experiment", "data")) for o in overrides)
    return overrides if chosen else [*DEFAULT_DATA, *overrides]


def main(overrides: list[str]) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=with_default_data(overrides))
    datamodule = build(cfg.data)
    spec = data_spec(datamodule, cfg.data)  # what the model would learn of the data
    ignore_index = spec.output.ignore_index
    splits = split_frames(cfg.data, datamodule, spec)
    strings = category_columns(splits["train"].x)
    print(
        ", ".join(f"{s} {len(splits[s].y)}" for s in SPLITS).join(("rows: ", "; "))
        + f"features: {splits['train'].x.shape[1] - len(strings)} numeric, {len(strings)} categorical"
    )
    # One thread: the fits are small and many, where OpenMP's threads cost more than they
    # give, and on a shared machine they slow each other down.
    with threadpool_limits(1):
        for name, run in BASELINES.items():
            start, cpu = time.perf_counter(), time.process_time()
            acc, chosen = run(splits, ignore_index)
            setting = "" if chosen is None else f"={chosen} chosen on val"
            took = f"{time.perf_counter() - start:.1f} s, {time.process_time() - cpu:.1f} s CPU"
            print(f"{name + setting:<44} test mean per-channel accuracy {acc:.4f} ({took})")


if __name__ == "__main__":
    main(sys.argv[1:])
