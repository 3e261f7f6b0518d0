"""Parquet datasets of uneven files and row groups, written to real files for the streaming tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# Rows and row-group size of each file: uneven on purpose (a group of 1 row, a file of one group).
LAYOUT = ((23, 7), (1, 1), (40, 40), (17, 5), (29, 13))
LABELS = {-1.0: 0, 0.0: 1, 1.0: 2}


def make_rows(n: int, seed: int = 0) -> pd.DataFrame:
    """`key` (a string id), feature `row` (the row's number in the dataset), two more features,
    and -1/0/1 targets with about 20% missing labels."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"key": [f"k{i}" for i in range(n)], "row": np.arange(n, dtype=np.float64)})
    frame["f1"] = rng.normal(size=n) * 3 + 5
    frame["f2"] = rng.normal(size=n)
    for name in ("y_a", "y_b", "y_c"):
        labels = rng.integers(-1, 2, size=n).astype(float)
        labels[rng.random(n) < 0.2] = np.nan
        frame[name] = labels
    return frame


def write_dataset(directory: Path, layout=LAYOUT, seed: int = 0) -> pd.DataFrame:
    """Files `part-0.parquet`, ... under `directory`, as `layout` says; returns all rows in order."""
    directory.mkdir(parents=True, exist_ok=True)
    frame = make_rows(sum(rows for rows, _ in layout), seed)
    start = 0
    for i, (rows, group) in enumerate(layout):
        part = pa.Table.from_pandas(frame.iloc[start : start + rows], preserve_index=False)
        pq.write_table(part, directory / f"part-{i}.parquet", row_group_size=group)
        start += rows
    return frame


def class_ids(frame: pd.DataFrame, columns=("y_a", "y_b", "y_c")) -> np.ndarray:
    """The labels as class ids, missing as -100: computed here with pandas, independently."""
    return frame[list(columns)].apply(lambda col: col.map(LABELS)).fillna(-100).astype(np.int64).to_numpy()
