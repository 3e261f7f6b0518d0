"""A table's splits as scikit-learn tables, for `python scripts/baseline.py data=tabular
data.path=my.csv`, read from the file as it is: strings stay strings, empty cells stay gaps, so
the baselines do not depend on how the template encodes them. The rows go to the splits by the
template's own split functions, with the data config's fractions, seed and folds, so the
baselines train, select and test on exactly the rows that `train.py` does.

Strings are categories and empty cells gaps, in both models' own way: the trees split on
categories and send gaps down a learned side natively (`HistGradientBoostingClassifier`);
logistic regression sees one-hot categories and median-imputed numbers with an indicator per
column that has gaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from omegaconf import DictConfig

from multiout.data.spec import DataSpec
from multiout.data.splits import SPLITS, split_indices, split_sizes
from multiout.data.tables.columns import file_format
from multiout.data.tables.labels import numeric_labels
from multiout.errors import InputError

MAX_CATEGORIES = 255  # HistGradientBoostingClassifier's limit; rarer values count as unseen


def table_frames(data: DictConfig, spec: DataSpec) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """Features (strings as pandas categories of the training split's values) and class ids
    `[N, C]` (`ignore_index` where a label is missing) of each split of the table that the data
    config `data` names."""
    features, targets = spec.input.feature_names, spec.output.channel_names
    out = spec.output
    # Each target as its own labels are: numbers, or text (targets may mix the two).
    read = {
        name: pa.float64() if numeric_labels(values) else pa.string()
        for name, values in zip(targets, out.label_values, strict=True)
    }
    if data.path is not None:
        frame = read_frame(data.path, [*features, *targets], read)
        frames = {s: frame.iloc[rows] for s, rows in split_rows(len(frame), data).items()}
    else:
        frames = {s: read_frame(data[f"{s}_path"], [*features, *targets], read) for s in SPLITS}
    strings = data.get("categorical_columns", "auto")
    if not isinstance(strings, Sequence) or isinstance(strings, str):
        strings = [name for name in features if not _is_number(frames["train"][name])]
    dtypes = {name: pd.CategoricalDtype(_vocabulary(frames["train"][name])) for name in strings}
    return {
        s: (
            frame[features].astype(dtypes),
            class_ids(
                frame[targets], out.label_values, out.ignore_index, data.get("path") or data[f"{s}_path"]
            ),
        )
        for s, frame in frames.items()
    }


def split_rows(num_rows: int, data: DictConfig) -> dict[str, np.ndarray]:
    """Row numbers per split, as the tabular data module cuts one file."""
    if data.ordered_split:
        sizes = split_sizes(num_rows, data.val_fraction, data.test_fraction)
        bounds = np.cumsum([0, *(sizes[s] for s in SPLITS)])
        return {s: np.arange(bounds[i], bounds[i + 1]) for i, s in enumerate(SPLITS)}
    rows = split_indices(
        num_rows, data.val_fraction, data.test_fraction, data.seed, data.num_folds, data.fold
    )
    return {s: rows[s].numpy() for s in SPLITS}


def read_frame(path: str, columns: list[str], types: dict[str, pa.DataType]) -> pd.DataFrame:
    """The columns of a CSV or Parquet file; as for the template, only an empty CSV cell is missing."""
    if file_format(path) == "parquet":
        return pq.read_table(path, columns=columns).to_pandas()
    convert = pacsv.ConvertOptions(
        column_types=types, include_columns=columns, strings_can_be_null=True, null_values=[""]
    )
    return pacsv.read_csv(Path(path), convert_options=convert).to_pandas()


def class_ids(labels: pd.DataFrame, label_values: list[list], ignore_index: int, path: str) -> np.ndarray:
    """Label `label_values[c][k]` of column `c` -> `k`, a missing label -> `ignore_index`."""
    values = labels.to_numpy(dtype=object)
    ids = np.full(values.shape, ignore_index, np.int64)
    for c, channel in enumerate(label_values):
        for k, value in enumerate(channel):
            ids[values[:, c] == value, c] = k
    unknown = (ids == ignore_index) & labels.notna().to_numpy()
    if unknown.any():
        row, col = np.argwhere(unknown)[0]
        raise InputError(
            f"{path}: target column {labels.columns[col]!r} has label {values[row, col]!r}, which is not among its labels {label_values[col]}"
        )
    return ids


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _vocabulary(column: pd.Series) -> list:
    """The training split's values, at most the `MAX_CATEGORIES` most frequent, in sorted order."""
    counts = column.value_counts(dropna=True)
    return sorted(counts.index[:MAX_CATEGORIES].tolist())
