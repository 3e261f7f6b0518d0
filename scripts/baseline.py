"""Baselines on the template's own splits: per-channel logistic regression and majority class.

`python scripts/baseline.py` (defaults to `experiment=us_employment`; any train.py
overrides work, e.g. `python scripts/baseline.py data=tabular data.path=my.csv`). The data
module is built from the same Hydra config as `train.py`, so the rows of every split are
the ones the template trains, selects and tests on. Logistic regression is fitted on the
training split, its inverse regularization `C` picked on the validation split, and scored
on the test split; labels missing in a split are left out of that channel's fit and score.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import MultiOutputClassifier

from multiout.runtime.build import build

CONF = Path(__file__).resolve().parents[1] / "conf"
C_GRID = (0.001, 0.01, 0.1, 1.0)


def mean_accuracy(pred: np.ndarray, y: np.ndarray, ignore_index: int) -> float:
    """Mean over channels of accuracy on the labelled cells (channels without any skipped)."""
    labelled = y != ignore_index
    per_channel = [(pred[m, c] == y[m, c]).mean() for c in range(y.shape[1]) if (m := labelled[:, c]).any()]
    return float(np.mean(per_channel))


def majority(y_train: np.ndarray, y_test: np.ndarray, ignore_index: int) -> float:
    classes = [np.bincount(col[col != ignore_index]).argmax() for col in y_train.T]
    return mean_accuracy(np.broadcast_to(classes, y_test.shape), y_test, ignore_index)


def logistic(splits: dict, ignore_index: int) -> tuple[float, float]:
    """Test accuracy and the `C` chosen on validation; rows with a missing label in any
    channel are dropped from the fit (MultiOutputClassifier fits all channels on one X)."""
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = (splits[s] for s in ("train", "val", "test"))
    mean, std = x_tr.mean(axis=0), x_tr.std(axis=0) + 1e-12
    x_tr, x_va, x_te = ((x - mean) / std for x in (x_tr, x_va, x_te))
    full = (y_tr != ignore_index).all(axis=1)
    best = None
    for c in C_GRID:
        model = MultiOutputClassifier(LogisticRegression(C=c, max_iter=2000)).fit(x_tr[full], y_tr[full])
        score = mean_accuracy(model.predict(x_va), y_va, ignore_index)
        if best is None or score > best[0]:
            best = (score, c, model)
    _, c, model = best
    return mean_accuracy(model.predict(x_te), y_te, ignore_index), c


def main(overrides: list[str]) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides or ["experiment=us_employment"])
    datamodule = build(cfg.data)
    datamodule.setup("fit")
    splits = {s: tuple(t.numpy() for t in datamodule.splits[s]) for s in ("train", "val", "test")}
    ignore_index = cfg.model.ignore_index
    lr_acc, c = logistic(splits, ignore_index)
    print(
        f"rows: train {len(splits['train'][0])}, val {len(splits['val'][0])}, test {len(splits['test'][0])}"
    )
    print(f"logistic regression (C={c} chosen on val): test mean per-channel accuracy {lr_acc:.4f}")
    print(
        f"majority class of the training split:        test mean per-channel accuracy "
        f"{majority(splits['train'][1], splits['test'][1], ignore_index):.4f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
