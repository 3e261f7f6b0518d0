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
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from multiout.data.tables.categories import FileCategories
from multiout.data.tables.columns import Columns, file_columns, file_format
from multiout.data.tables.encoder import RowEncoder
from multiout.data.tables.labels import BadLabels, LabelMapping
from multiout.errors import InputError
from multiout.runtime import storage

BATCH_ROWS = 65_536
PARQUET_COLUMNS_PER_PASS = 8
CSV_BLOCK_BYTES = 1 << 20  # Arrow's default block: small blocks keep its buffers small


@dataclass
class Table:
    """Features `[N, F]` float32, class ids `[N, C]` int64 (or None) and the id column.

    A categorical feature holds its `categories[name]` codes, numbered within this file.
    """

    features: np.ndarray
    targets: np.ndarray | None
    ids: pa.ChunkedArray | None
    categories: dict[str, FileCategories] = field(default_factory=dict)


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


def read_columns(path: str | Path, names: list[str]) -> pa.Table:
    """Some columns of a file as Arrow types them (a CSV's inferred; only an empty cell is
    missing): how `data.label_values=auto` sees the targets."""
    path = Path(path)
    try:
        if file_format(path) == "parquet":
            return pq.read_table(path, columns=names)
        convert = pacsv.ConvertOptions(include_columns=names, strings_can_be_null=True, null_values=[""])
        return pacsv.read_csv(path, convert_options=convert)
    except pa.ArrowException as err:
        raise InputError(f"{path}: cannot read columns {names} ({err})") from err


def read_table(
    path: str | Path,
    columns: Columns,
    labels: LabelMapping | None,
    categorical: tuple[str, ...] | list[str] = (),
    allow_missing: bool = False,
) -> Table:
    """Features, class ids of the target columns (`labels`; None: no targets read) and ids.

    `categorical` features are read as text and stored as codes (`Table.categories`). With
    `allow_missing` a missing feature value is NaN (a category of its own if categorical);
    otherwise it is an error. Rows are numbered from 1 (the first row after a CSV header)
    in every message.
    """
    path = storage.location(path)
    categories = {name: FileCategories() for name in categorical}
    encoder = RowEncoder(columns, labels, categories, allow_missing)
    if file_format(path) == "parquet":
        _check_parquet_types(path, columns, categories)
        with storage.source(path) as where:
            total = pq.read_metadata(where).num_rows
        # Parquet is stored by column: a few columns per pass keeps Arrow's buffers small.
        passes = [
            encoder.wanted[i : i + PARQUET_COLUMNS_PER_PASS]
            for i in range(0, len(encoder.wanted), PARQUET_COLUMNS_PER_PASS)
        ]
    else:
        total, passes = None, [encoder.wanted]  # CSV is stored by row: one pass over everything
    file_bytes, expected = storage.size(path), 0
    read_types = {name: labels.read_type(name) for name in encoder.targets} if labels is not None else {}
    for name in [*categorical, *([columns.id] if columns.id is not None else [])]:
        read_types[name] = pa.string()
    features = _Rows(len(columns.features), np.float32, total)
    class_ids = _Rows(len(encoder.targets), np.int64, total)
    id_chunks = []
    bad = BadLabels()
    for names in passes:
        rows = 0
        for batch in _batches(path, names, read_types):
            n = batch.num_rows
            if rows == 0 and total is None:  # CSV: rows in one block of text, times the blocks
                expected = math.ceil(n * file_bytes / min(file_bytes, CSV_BLOCK_BYTES) * 1.02)
            block = features.take(rows, n, expected), class_ids.take(rows, n, expected)
            encoder.write(batch, *block, (path, rows), bad)
            if columns.id in batch.schema.names:
                id_chunks.append(batch.column(columns.id).cast(pa.string()))
            rows += n
    if rows == 0:
        raise InputError(f"{path}: the file has no rows")
    if labels is not None:
        bad.check(path, labels)
    return Table(
        features=features.result(),
        targets=class_ids.result() if encoder.targets else None,
        ids=pa.chunked_array(id_chunks, type=pa.string()) if columns.id is not None else None,
        categories=categories,
    )
