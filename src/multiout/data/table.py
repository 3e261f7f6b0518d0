"""Read a CSV or Parquet file into feature and label arrays, checking every value on the way.

Files are read in record batches (a few columns at a time for Parquet, which stores data by
column), each converted at once into float32 features and int64 class ids and written into
the final arrays, so the whole file never exists as text or float64 and no arrays are
joined: the peak stays near the arrays plus Arrow's buffers for one batch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from multiout.data.columns import Columns, file_columns, file_format
from multiout.data.encoding import FileCategories
from multiout.errors import InputError
from multiout.runtime import storage

BATCH_ROWS = 65_536
PARQUET_COLUMNS_PER_PASS = 8
CSV_BLOCK_BYTES = 1 << 20  # Arrow's default block: small blocks keep its buffers small
# Numeric labels are compared as float64, which holds every integer below this size exactly.
EXACT_FLOAT_INT = 2**53


@dataclass
class Table:
    """Features `[N, F]` float32, class ids `[N, C]` int64 (or None) and the id column.

    A categorical feature holds its `categories[name]` codes, numbered within this file.
    """

    features: np.ndarray
    targets: np.ndarray | None
    ids: pa.ChunkedArray | None
    categories: dict[str, FileCategories] = field(default_factory=dict)


@dataclass
class BadLabels:
    """Label values outside `label_values`, per column: first row, first value, count."""

    found: dict[str, tuple[int, object, int]] = field(default_factory=dict)

    def add(self, column: str, first_row: int, value: object, count: int) -> None:
        if column in self.found:
            row, first_value, seen = self.found[column]
            self.found[column] = (row, first_value, seen + count)
        else:
            self.found[column] = (first_row, value, count)

    def check(self, path: object, label_values: list) -> None:
        """One `InputError` for everything found: the first column in full, the others by name."""
        if not self.found:
            return
        name, (row, value, count) = next(iter(self.found.items()))
        how_many = "1 row" if count == 1 else f"{count} rows"
        shown, fix = repr(value), "add it to data.label_values or clear those cells to mark them missing"
        if isinstance(value, float) and math.isfinite(value) and abs(value) >= EXACT_FLOAT_INT:
            shown = f"of about {value:.17g}"
            fix = f"numbers from 2**53 on lose digits as float64; {quoted_labels(label_values)}"
        raise InputError(
            f"{path}: target column {name!r} has label {shown}, which is not in data.label_values "
            f"{list(label_values)} (first at row {row}, {how_many}); {fix}"
            + (f"; other columns with unknown labels: {list(self.found)[1:]}" if len(self.found) > 1 else "")
        )


def quoted_labels(label_values: list) -> str:
    """How to read numeric labels as text instead, where float64 cannot tell them apart: an
    override quoted for the shell, which would otherwise strip the inner quotes."""
    quoted = ",".join(f'"{v}"' for v in label_values)
    return f"give them as text, 'data.label_values=[{quoted}]', to compare the labels as text"


def numeric_labels(label_values: list) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in label_values)


def _batches(
    path: Path | str, columns: list[str], label_types: dict[str, pa.DataType]
) -> Iterator[pa.RecordBatch]:
    if file_format(path) == "parquet":
        try:
            with storage.source(path) as where:
                yield from pq.ParquetFile(where).iter_batches(batch_size=BATCH_ROWS, columns=columns)
        except pa.ArrowException as err:
            raise InputError(f"{path}: not a readable Parquet file ({err})") from err
        return
    types = {name: label_types.get(name, pa.float32()) for name in columns}
    # Only an empty cell is missing: Arrow's default null markers ("NA", "null", ...) can be labels.
    convert = pacsv.ConvertOptions(
        column_types=types, include_columns=columns, strings_can_be_null=True, null_values=[""]
    )
    try:
        read = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES)
        with storage.source(path) as where:
            yield from pacsv.open_csv(where, read_options=read, convert_options=convert)
    except pa.ArrowInvalid as err:
        raise _csv_error(path, columns, label_types, err) from err


def _csv_error(path: Path | str, columns: list[str], label_types: dict, err: Exception) -> InputError:
    """Arrow's conversion error names a column number; say which column, and what to do."""
    match = re.search(r"column #(\d+)", str(err))
    header = file_columns(path)
    name = header[int(match.group(1))] if match and int(match.group(1)) < len(header) else None
    detail = str(err).split(": ", 1)[-1]
    if name in label_types:
        return InputError(
            f"{path}: target column {name!r} holds a value that is not a number ({detail}), "
            f"but data.label_values are numbers"
        )
    if name is not None:
        return InputError(
            f"{path}: feature column {name!r} is not numeric ({detail}); list it in "
            f"data.categorical_columns, or exclude it with data.exclude_columns=[{name}]"
        )
    return InputError(f"{path}: cannot read as CSV ({err})")


def _check_parquet_types(path: Path | str, columns: Columns, categorical: dict) -> None:
    with storage.source(path) as where:
        check_feature_types(pq.read_schema(where), columns, path, categorical)


def check_feature_types(
    schema: pa.Schema, columns: Columns, path: object, categorical: Collection[str] = ()
) -> None:
    """Every feature column of a Parquet schema that is not categorical holds numbers (or booleans)."""
    for name in columns.features:
        kind = schema.field(name).type
        if name in categorical:
            continue
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
            raise InputError(
                f"{path}: feature column {name!r} is not numeric (type {kind}); list it in "
                f"data.categorical_columns, or exclude it with data.exclude_columns=[{name}]"
            )


class _Rows:
    """The array that converted batches are written into, grown as rows arrive.

    With the row count known (Parquet) it is allocated once. A CSV file's row count is not
    known, so the first batch (one block of `CSV_BLOCK_BYTES` of text) gives an estimate from
    the file size; the array grows by a quarter only if the estimate was short. No array
    of per-batch blocks is ever joined, which would need twice the memory.
    """

    def __init__(self, width: int, dtype: type, total: int | None = None) -> None:
        self.array: np.ndarray = np.empty((total or 0, width), dtype=dtype)
        self.used = 0

    def take(self, row0: int, num_rows: int, expected_total: int = 0) -> np.ndarray:
        end = row0 + num_rows
        if end > len(self.array):
            grown = np.empty(
                (max(end, expected_total, len(self.array) * 5 // 4), self.array.shape[1]), self.array.dtype
            )
            grown[:row0] = self.array[:row0]
            self.array = grown
        self.used = max(self.used, end)
        return self.array[row0:end]

    def result(self) -> np.ndarray:
        return self.array[: self.used]


def write_features(
    batch: pa.RecordBatch | pa.Table,
    index: dict[str, int],
    block: np.ndarray,
    categories: dict[str, FileCategories],
    allow_missing: bool,
    where: tuple[object, int],
) -> None:
    """Writes the batch's feature columns into their columns of `block` (the batch's rows):
    numbers, NaN where missing, or the file's category codes."""
    for name in (name for name in batch.schema.names if name in index):
        column = batch.column(name)
        if name in categories:
            if not allow_missing and column.null_count:
                missing_error(name, np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False)), where)
            block[:, index[name]] = categories[name].codes(column)
            continue
        values = block[:, index[name]]
        values[:] = column.to_numpy(zero_copy_only=False)
        bad = np.isinf(values) if allow_missing else ~np.isfinite(values)
        if bad.any():
            missing_error(name, np.flatnonzero(bad), where, infinite=bool(np.isinf(values).any()))


def missing_error(name: str, rows: np.ndarray, where: tuple[object, int], infinite: bool = False) -> None:
    path, row0 = where
    fix = "fill or drop those rows, or exclude the column"
    if not infinite:
        fix += ", or set data.missing_features=impute"
    raise InputError(
        f"{path}: feature column {name!r} has a missing, NaN or infinite value "
        f"(first at row {row0 + int(rows[0]) + 1}); {fix}"
    )


def write_labels(
    batch: pa.RecordBatch | pa.Table,
    index: dict[str, int],
    block: np.ndarray,
    value_set: pa.Array,
    ignore_index: int,
    path: object,
    row0: int,
    bad: BadLabels,
) -> None:
    """Writes the batch's target columns as class ids into their columns of `block`."""
    for name in (name for name in batch.schema.names if name in index):
        column = batch.column(name)
        try:  # integers beyond 2**53 as the nearest float: reported below as unknown labels
            column = column.cast(value_set.type, safe=not pa.types.is_integer(column.type))
        except pa.ArrowInvalid as err:
            raise InputError(
                f"{path}: target column {name!r} (type {column.type}) cannot hold data.label_values "
                f"{value_set.to_pylist()} ({err})"
            ) from err
        missing = column.is_null(nan_is_null=True)
        ids = pc.index_in(column, value_set=value_set)
        unknown = pc.and_(pc.invert(missing), ids.is_null()).to_numpy(zero_copy_only=False)
        if unknown.any():
            rows = np.flatnonzero(unknown)
            bad.add(name, row0 + int(rows[0]) + 1, column[int(rows[0])].as_py(), len(rows))
        block[:, index[name]] = ids.fill_null(ignore_index).to_numpy(zero_copy_only=False)


def read_table(
    path: str | Path,
    columns: Columns,
    label_values: list,
    ignore_index: int,
    with_targets: bool = True,
    categorical: tuple[str, ...] | list[str] = (),
    allow_missing: bool = False,
) -> Table:
    """Features, class ids (label `label_values[k]` -> `k`; missing -> `ignore_index`) and ids.

    `categorical` features are read as text and stored as codes (`Table.categories`). With
    `allow_missing` a missing feature value is NaN (a category of its own if categorical);
    otherwise it is an error. Rows are numbered from 1 (the first row after a CSV header)
    in every message.
    """
    path = storage.location(path)
    categories = {name: FileCategories() for name in categorical}
    targets = columns.targets if with_targets else []
    wanted = [*([columns.id] if columns.id else []), *columns.features, *targets]
    if file_format(path) == "parquet":
        _check_parquet_types(path, columns, categories)
        with storage.source(path) as where:
            total = pq.read_metadata(where).num_rows
        # Parquet is stored by column: a few columns per pass keeps Arrow's buffers small.
        passes = [
            wanted[i : i + PARQUET_COLUMNS_PER_PASS] for i in range(0, len(wanted), PARQUET_COLUMNS_PER_PASS)
        ]
    else:
        total, passes = None, [wanted]  # CSV is stored by row: one pass over everything
    file_bytes, expected = storage.size(path), 0
    label_type = pa.float64() if numeric_labels(label_values) else pa.string()
    value_set = pa.array(label_values).cast(label_type)
    read_types = {name: label_type for name in targets}
    for name in [*categorical, *([columns.id] if columns.id is not None else [])]:
        read_types[name] = pa.string()
    feature_index = {name: j for j, name in enumerate(columns.features)}
    target_index = {name: j for j, name in enumerate(targets)}
    features = _Rows(len(columns.features), np.float32, total)
    labels = _Rows(len(targets), np.int64, total)
    id_chunks = []
    bad = BadLabels()
    for names in passes:
        rows = 0
        for batch in _batches(path, names, read_types):
            n = batch.num_rows
            if rows == 0 and total is None:  # CSV: rows in one block of text, times the blocks
                expected = math.ceil(n * file_bytes / min(file_bytes, CSV_BLOCK_BYTES) * 1.02)
            block = features.take(rows, n, expected)
            write_features(batch, feature_index, block, categories, allow_missing, (path, rows))
            block = labels.take(rows, n, expected)
            write_labels(batch, target_index, block, value_set, ignore_index, path, rows, bad)
            if columns.id in batch.schema.names:
                id_chunks.append(batch.column(columns.id).cast(pa.string()))
            rows += batch.num_rows
    if rows == 0:
        raise InputError(f"{path}: the file has no rows")
    bad.check(path, label_values)
    return Table(
        features=features.result(),
        targets=labels.result() if targets else None,
        ids=pa.chunked_array(id_chunks, type=pa.string()) if columns.id is not None else None,
        categories=categories,
    )
