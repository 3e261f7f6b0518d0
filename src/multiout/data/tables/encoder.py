"""The one conversion of a table's rows into model input, shared by every reader (a table
read whole, windows over it, streamed Parquet row groups): numeric features as float32 (NaN
where missing), categories as codes or vocabulary indices (`categories.py`), labels as class
ids (`labels.py`), every value checked on the way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
import pyarrow as pa

from multiout.data.tables.columns import Columns
from multiout.data.tables.labels import BadLabels, LabelMapping
from multiout.errors import InputError


class Categories(Protocol):
    """How a categorical column's values become numbers: `FileCategories` or `VocabularyIndices`."""

    def codes(self, column: pa.Array | pa.ChunkedArray) -> np.ndarray: ...


class RowEncoder:
    """Writes Arrow batches of `columns` into feature rows `[N, F]` and class ids `[N, C]`.

    `categories` holds one converter per categorical feature. With `allow_missing` a missing
    number is NaN and a missing category is a category; otherwise either is an error.
    `labels` None: no targets are read (prediction)."""

    def __init__(
        self,
        columns: Columns,
        labels: LabelMapping | None,
        categories: Mapping[str, Categories],
        allow_missing: bool,
    ) -> None:
        self.columns = columns
        self.labels = labels
        self.targets = columns.targets if labels is not None else []
        self.feature_index = {name: j for j, name in enumerate(columns.features)}
        self.categories = dict(categories)
        self.allow_missing = allow_missing
        self.wanted = [*([columns.id] if columns.id else []), *columns.features, *self.targets]

    def write(
        self,
        batch: pa.RecordBatch | pa.Table,
        features: np.ndarray,
        class_ids: np.ndarray,
        where: tuple[object, int],
        bad: BadLabels,
    ) -> None:
        """Writes the batch's columns (all of them or a few: Parquet is read a few columns at a
        time) into their columns of `features` and `class_ids` (the batch's rows). `where`
        (file, first row) names the rows in messages; unknown labels go to `bad`."""
        for name in (name for name in batch.schema.names if name in self.feature_index):
            column, j = batch.column(name), self.feature_index[name]
            if name in self.categories:
                if not self.allow_missing and column.null_count:
                    missing_error(
                        name, np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False)), where
                    )
                features[:, j] = self.categories[name].codes(column)
                continue
            values = features[:, j]
            values[:] = column.to_numpy(zero_copy_only=False)
            wrong = np.isinf(values) if self.allow_missing else ~np.isfinite(values)
            if wrong.any():
                missing_error(name, np.flatnonzero(wrong), where, infinite=bool(np.isinf(values).any()))
        if self.labels is not None:
            self.labels.write(batch, class_ids, where, bad)

    def encode(self, table: pa.Table, path: object, first_row: int) -> tuple[np.ndarray, np.ndarray | None]:
        """All of a table's rows at once: features `[N, F]` and class ids `[N, C]` (None
        without labels); an unknown label is an `InputError`."""
        x = np.empty((table.num_rows, len(self.columns.features)), dtype=np.float32)
        y = np.empty((table.num_rows, len(self.targets)), dtype=np.int64)
        bad = BadLabels()
        self.write(table, x, y, (path, first_row), bad)
        if self.labels is None:
            return x, None
        bad.check(path, self.labels)
        return x, y


def missing_error(name: str, rows: np.ndarray, where: tuple[object, int], infinite: bool = False) -> None:
    path, row0 = where
    fix = "fill or drop those rows, or exclude the column"
    if not infinite:
        fix += ", or set data.missing_features=impute"
    raise InputError(
        f"{path}: feature column {name!r} has a missing, NaN or infinite value "
        f"(first at row {row0 + int(rows[0]) + 1}); {fix}"
    )
