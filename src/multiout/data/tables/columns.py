"""Which columns of a table are features, targets and the row id: names checked against the file."""

from __future__ import annotations

import csv
import difflib
import fnmatch
import io
import os
from dataclasses import dataclass
from pathlib import PurePosixPath

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from multiout.errors import InputError
from multiout.runtime import storage

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
INFER_BYTES = 1 << 20  # the start of a CSV file whose values decide which columns hold text


@dataclass(frozen=True)
class Columns:
    """Resolved column names, in file order: what the model reads and what it predicts."""

    features: list[str]
    targets: list[str]
    id: str | None = None


def file_format(path: str | os.PathLike) -> str:
    """`csv` or `parquet`, from the file name; a missing file or another format is an `InputError`."""
    if not storage.is_file(path):
        raise InputError(f"{path}: no such file")
    found = FORMATS.get(PurePosixPath(str(path)).suffix.lower())
    if found is None:
        raise InputError(f"{path}: expected a CSV (.csv) or Parquet (.parquet, .pq) file")
    return found


def file_columns(path: str | os.PathLike) -> list[str]:
    """Column names of a CSV or Parquet file, read from its header or schema only."""
    if file_format(path) == "parquet":
        try:
            with storage.source(path) as where:
                return list(pq.read_schema(where).names)
        except Exception as err:  # pyarrow raises several types for a damaged file
            raise InputError(f"{path}: not a readable Parquet file ({err})") from err
    with storage.open_input(path) as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise InputError(f"{path}: the file is empty; expected a header line and at least one row")
    return header


def _require(names: list[str], available: list[str], what: str, key: str, path: object) -> None:
    for name in names:
        if name not in available:
            close = difflib.get_close_matches(name, available, n=3, cutoff=0.6)
            hint = f"; close matches: {close}" if close else f"; the file has {available[:20]}"
            raise InputError(f"{path}: {what} column {name!r} (from {key}) is not in the file{hint}")


def resolve_columns(
    available: list[str],
    path: str | os.PathLike,
    target_columns: str | list[str],
    feature_columns: list[str] | None,
    exclude_columns: list[str],
    id_column: str | None,
    need_targets: bool = True,
) -> Columns:
    """Column names from config, checked against a file's header `available` (`path` names
    the file in messages).

    `target_columns` is a list of names or one glob pattern (`"y_*"`), matched in file order.
    Features default to every column that is not a target, the id, or excluded.
    """
    if isinstance(target_columns, str):
        targets = [name for name in available if fnmatch.fnmatchcase(name, target_columns)]
        if not targets and need_targets:
            raise InputError(
                f"{path}: no column matches data.target_columns={target_columns!r}; the file has {available[:20]}"
            )
    else:
        targets = list(target_columns)
        if need_targets:
            _require(targets, available, "target", "data.target_columns", path)
        else:
            targets = [name for name in targets if name in available]
    if id_column is not None:
        _require([id_column], available, "id", "data.id_column", path)
    if feature_columns is None:
        skip = {*targets, *exclude_columns, id_column}
        features = [name for name in available if name not in skip]
    else:
        features = list(feature_columns)
        _require(features, available, "feature", "data.feature_columns", path)
    if not features:
        raise InputError(
            f"{path}: no feature columns left after taking out targets, id and data.exclude_columns"
        )
    overlap = sorted(set(features) & set(targets))
    if overlap:
        raise InputError(f"{path}: columns {overlap} are both features and targets; fix data.feature_columns")
    return Columns(features=features, targets=targets, id=id_column)


def resolve_categorical(
    path: str | os.PathLike, features: list[str], categorical: str | list[str]
) -> list[str]:
    """The features read as categories, in file order: those listed, or with `"auto"` those
    holding text, dictionary-encoded or boolean values (integer codes only when listed)."""
    if categorical == "auto":
        found = _text_columns(path, features)
        return [name for name in features if name in found]
    return _listed_categorical(categorical, file_columns(path), features, path)


def schema_categorical(
    schema: pa.Schema, features: list[str], categorical: str | list[str], path: object
) -> list[str]:
    """`resolve_categorical` from a Parquet schema already read (a streamed split's, which may
    be remote)."""
    if categorical == "auto":
        found = text_columns(schema, features)
        return [name for name in features if name in found]
    return _listed_categorical(categorical, schema.names, features, path)


def _listed_categorical(
    categorical: str | list[str], available: list[str], features: list[str], path: object
) -> list[str]:
    if isinstance(categorical, str):
        raise InputError(
            f"data.categorical_columns must be auto or a list of column names, got {categorical!r}"
        )
    listed = list(categorical)
    _require(listed, available, "categorical", "data.categorical_columns", path)
    not_features = [name for name in listed if name not in features]
    if not_features:
        raise InputError(
            f"{path}: data.categorical_columns lists {not_features}, which are not feature columns "
            f"(they are targets, the id or excluded)"
        )
    return [name for name in features if name in listed]


def _text_columns(path: str | os.PathLike, features: list[str]) -> set[str]:
    """Parquet: by the schema's types; CSV: by the types Arrow infers from the file's start."""
    if file_format(path) == "parquet":
        with storage.source(path) as where:
            schema = pq.read_schema(where)
    else:
        convert = pacsv.ConvertOptions(include_columns=features, strings_can_be_null=True, null_values=[""])
        try:
            with (
                storage.source(path) as where,
                pacsv.open_csv(
                    where, read_options=pacsv.ReadOptions(block_size=INFER_BYTES), convert_options=convert
                ) as reader,
            ):
                schema = reader.schema
        except pa.ArrowInvalid as err:
            raise InputError(f"{path}: cannot read as CSV ({err})") from err
    return text_columns(schema, features)


def text_columns(schema: pa.Schema, features: list[str]) -> set[str]:
    """The features of `schema` that `categorical_columns=auto` takes: text, dictionary, boolean."""
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_dictionary, pa.types.is_boolean)
    return {name for name in features if any(is_kind(schema.field(name).type) for is_kind in text)}
