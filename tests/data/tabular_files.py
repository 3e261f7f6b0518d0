"""Small tables written to real files: the raw material of the tabular tests.

(A helper module, not a conftest: a second `conftest` module would shadow the root one
for tests that import from it.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from multiout.data.tables.datamodule import TabularDataModule


def make_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """id, three features, and two -1/0/1 targets with about 20% missing labels."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)]})
    for name in ("f0", "f1", "f2"):
        frame[name] = rng.normal(size=n) * 3 + 5
    for name in ("y_a", "y_b"):
        labels = rng.integers(-1, 2, size=n).astype(float)
        labels[rng.random(n) < 0.2] = np.nan
        frame[name] = labels
    return frame


# The targets of `labelled_frame`.
CHANNELS = ["y_up", "y_mid", "y_down", "y_gone"]


def labelled_frame(n: int, seed: int) -> pd.DataFrame:
    """A learnable -1/0/1 table: each target is a thresholded linear function of the features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    scores = x @ np.random.default_rng(99).normal(size=(6, len(CHANNELS)))
    labels = np.select([scores < -0.6, scores > 0.6], [-1.0, 1.0], 0.0)
    labels[rng.random(labels.shape) < 0.15] = np.nan  # missing labels
    frame = pd.DataFrame(x * 10 + 3, columns=[f"x{i}" for i in range(6)])
    frame.insert(0, "key", [f"{seed}-{i}" for i in range(n)])
    for c, name in enumerate(CHANNELS):
        frame[name] = labels[:, c]
    return frame


def write_table(frame: pd.DataFrame, path) -> str:
    """CSV or Parquet by the file name's suffix; returns the path as a string."""
    if str(path).endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return str(path)


def loaded(**options) -> TabularDataModule:
    """A tabular data module with its files read, as Lightning's `setup` reads them."""
    datamodule = TabularDataModule(**options)
    datamodule.setup("fit")
    return datamodule
