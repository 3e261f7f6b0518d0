"""The Parquet files of one split, found by directory or glob, and cut into row groups.

Only footers are read: row counts come from the files' metadata, so a split of any size is
known (and checked) before a single row is read. Paths may be local or a URL of an object
store (`s3://`, `gs://`, `az://`), read through fsspec (`runtime/storage.py`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import PurePosixPath

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from multiout.data.tables.columns import Columns
from multiout.errors import InputError
from multiout.runtime import storage

PARQUET_SUFFIXES = (".parquet", ".pq")
GLOB_CHARACTERS = "*?["


@dataclass(frozen=True)
class RowGroup:
    """One row group of one file: the unit a process reads."""

    fragment: ds.ParquetFileFragment
    path: str
    first_row: int  # its first row's position in the file, from 0
    num_rows: int


@dataclass
class ParquetSplit:
    """The files of a split (in path order), their shared schema and all their row groups."""

    key: str  # the config key that named them, for messages
    files: list[pafs.FileInfo]
    schema: pa.Schema  # of the first file
    row_groups: list[RowGroup]
    storage_options: dict | None = None  # of the object store the files are in, if remote

    @property
    def num_rows(self) -> int:
        return sum(group.num_rows for group in self.row_groups)

    def directory(self) -> str | None:
        """The dir of the first file: a local path, a URL (`s3://bucket/...`), or None for a
        filesystem that only pyarrow opens (`hdfs://`)."""
        filesystem = self.row_groups[0].fragment.filesystem
        parent = str(PurePosixPath(self.files[0].path).parent)
        if isinstance(filesystem, pafs.PyFileSystem):  # an fsspec filesystem (`runtime/storage.py`)
            return str(filesystem.handler.fs.unstrip_protocol(parent))
        return parent if isinstance(filesystem, pafs.LocalFileSystem) else None

    def fingerprint(self) -> list[tuple[str, int, int]]:
        """Path, size and modification time of each file: what a cache of its statistics is keyed by."""
        return [(info.path, int(info.size or 0), int(info.mtime_ns or 0)) for info in self.files]


def _filesystem(path: str, storage_options: dict | None = None) -> tuple[pafs.FileSystem, str]:
    if storage.is_url(path):
        return storage.arrow_filesystem(path, storage_options)
    if "://" in path:
        try:
            return pafs.FileSystem.from_uri(path)
        except (pa.ArrowException, ValueError) as err:
            raise InputError(f"{path}: cannot open this location ({err})") from err
    return pafs.LocalFileSystem(), str(PurePosixPath(pafs.LocalFileSystem().normalize_path(path)))


def _is_data_file(info: pafs.FileInfo) -> bool:
    # pyarrow's own convention: names starting with '.' or '_' (_SUCCESS, _metadata) are not data.
    return info.is_file and info.base_name.endswith(PARQUET_SUFFIXES) and info.base_name[0] not in "._"


def find_files(
    path: str, key: str, storage_options: dict | None = None
) -> tuple[pafs.FileSystem, list[pafs.FileInfo]]:
    """A file, every Parquet file under a directory, or the files a glob matches (`*`, `?`,
    `[..]` within one path component), in path order; none found is an `InputError`."""
    filesystem, where = _filesystem(path, storage_options)
    with storage.store_errors(f"{key}={path!r}"):
        return filesystem, _found(filesystem, where, path, key, storage_options)


def _found(
    filesystem: pafs.FileSystem, where: str, path: str, key: str, storage_options: dict | None
) -> list[pafs.FileInfo]:
    if any(c in where for c in GLOB_CHARACTERS):
        parts = PurePosixPath(where).parts
        fixed = next(i for i, part in enumerate(parts) if any(c in part for c in GLOB_CHARACTERS))
        base = str(PurePosixPath(*parts[:fixed]))
        found = [
            info
            for info in _listing(filesystem, base)
            if info.is_file and _matches(PurePosixPath(info.path).parts, parts)
        ]
        what = "no files match this pattern"
    else:
        info = filesystem.get_file_info(where)
        if info.type == pafs.FileType.NotFound:
            raise InputError(f"{key}={path!r}: {storage.not_found(path, storage_options)}")
        found = [info] if info.is_file else [i for i in _listing(filesystem, where) if _is_data_file(i)]
        what = "no .parquet or .pq files in this directory"
    if not found:
        raise InputError(f"{key}={path!r}: {what}")
    return sorted(found, key=lambda info: info.path)


def _listing(filesystem: pafs.FileSystem, base: str) -> list[pafs.FileInfo]:
    try:
        return filesystem.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    except (pa.ArrowException, OSError) as err:
        if storage.from_store(err):
            raise
        raise InputError(f"{base}: cannot list this directory ({err})") from err


def _matches(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    return len(parts) == len(pattern) and all(map(fnmatch.fnmatchcase, parts, pattern))


def open_split(path: str, key: str, storage_options: dict | None = None) -> ParquetSplit:
    """The files `path` names, their schema (of the first file) and their row groups."""
    filesystem, files = find_files(path, key, storage_options)
    with storage.store_errors(f"{key}={path!r}"):
        split = _split(filesystem, files, key)
    split.storage_options = storage_options
    return split


def _split(filesystem: pafs.FileSystem, files: list[pafs.FileInfo], key: str) -> ParquetSplit:
    dataset = ds.dataset([info.path for info in files], filesystem=filesystem, format="parquet")
    row_groups: list[RowGroup] = []
    schema: pa.Schema | None = None
    for fragment in dataset.get_fragments():
        try:
            metadata = fragment.metadata
            schema = schema or fragment.physical_schema
        except (pa.ArrowException, OSError) as err:
            if storage.from_store(err):
                raise
            raise InputError(f"{fragment.path}: not a readable Parquet file ({err})") from err
        first = 0
        for piece, index in zip(fragment.split_by_row_group(), range(metadata.num_row_groups), strict=True):
            rows = metadata.row_group(index).num_rows
            if rows:
                row_groups.append(RowGroup(piece, fragment.path, first, rows))
            first += rows
    assert schema is not None  # find_files found at least one file
    return ParquetSplit(key, files, schema, row_groups)


def check_schema(split: ParquetSplit, columns: Columns, reference: ParquetSplit) -> None:
    """Every file of `split` has every used column, with the type it has in `reference`'s
    first file (columns nobody reads may differ), and holds at least one row."""
    expected = reference.schema
    first = reference.files[0].path
    kinds = {"target": columns.targets, "feature": columns.features, "id": [columns.id] if columns.id else []}
    seen = set()
    for group in split.row_groups:
        if group.path in seen:
            continue
        seen.add(group.path)
        schema = group.fragment.physical_schema
        for kind, names in kinds.items():
            for name in names:
                if name not in schema.names:
                    raise InputError(f"{group.path}: {kind} column {name!r} is not in the file ({split.key})")
                here, there = schema.field(name).type, expected.field(name).type
                if here != there:
                    raise InputError(
                        f"{group.path}: column {name!r} has type {here}, but {there} in {first}; "
                        f"every file must have the same schema ({split.key})"
                    )
    if split.num_rows == 0:
        raise InputError(f"{split.key}: the files hold no rows")
