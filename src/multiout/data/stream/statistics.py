"""The statistics of a streamed training split (`tables/statistics.py`: the same computation
as for a table read whole), from one pass over its row groups, holding no more than a row
group at a time. The pass also checks every training value, before training starts. Its
result is cached beside the files (or, where they cannot be written, in a local cache dir),
keyed by their paths, sizes and modification times and by the columns and labels read: a
second run on unchanged files reads nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from multiout.data.stream.parquet_files import ParquetSplit
from multiout.data.stream.rows import GroupReader
from multiout.data.tables.categories import FileCategories
from multiout.data.tables.encoder import RowEncoder
from multiout.data.tables.median_sample import SAMPLE_SIZE
from multiout.data.tables.statistics import TrainStatistics, train_statistics
from multiout.errors import InputError
from multiout.runtime import storage
from multiout.runtime.atomic import write_json_atomic

log = logging.getLogger(__name__)

CACHE_PREFIX = ".multiout-statistics-"
ARRAYS = ("mean", "std", "median", "missing", "counts")


def compute_statistics(
    split: ParquetSplit, encoder: RowEncoder, max_categories: int = 1000
) -> TrainStatistics:
    """One pass over every row group of `split`, in file order, through `encoder` (whose
    categorical features are read as file codes)."""
    reader = GroupReader(encoder)
    categories = {name: c for name, c in encoder.categories.items() if isinstance(c, FileCategories)}
    labels = encoder.labels
    num_classes = max((len(values) for values in labels.values), default=0) if labels else 0

    def blocks():
        for group in split.row_groups:
            rows = reader.read(group)
            yield rows.x, rows.y

    return train_statistics(
        blocks(), encoder.columns.features, categories, num_classes,
        labels.ignore_index if labels else -100, max_categories, split.key,
    )  # fmt: skip


def cached_statistics(
    split: ParquetSplit, encoder: RowEncoder, max_categories: int = 1000
) -> TrainStatistics:
    """`compute_statistics`, from a cache file if one is current: beside the first file (in
    its bucket, for remote data), else in the local cache dir (`local_cache_dir`) under the
    same name. It is written beside the files where that works, else locally: a read-only
    directory or bucket costs the pass, never the run."""
    key = {
        "files": split.fingerprint(),
        "features": encoder.columns.features,
        "targets": encoder.columns.targets,
        "label_values": encoder.labels.values if encoder.labels else [],
        "ignore_index": encoder.labels.ignore_index if encoder.labels else None,
        "categorical": list(encoder.categories),
        "allow_missing": encoder.allow_missing,
        "max_categories": max_categories,
        "median_sample": SAMPLE_SIZE,
        "version": 2,  # of the computation: a change makes older caches stale
    }
    digest = hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()[:16]
    name = f"{CACHE_PREFIX}{digest}.json"
    beside = split.directory()
    places = [storage.join(beside, name)] if beside is not None else []
    places.append(storage.join(local_cache_dir(), name))
    options = split.storage_options
    for where in places:
        stats = _read_cache(where, json.loads(json.dumps(key, default=str)), options)
        if stats is not None:
            return stats
    stats = compute_statistics(split, encoder, max_categories)
    record = {"key": key, "rows": stats.rows, "vocabularies": stats.vocabularies}
    record.update({name: getattr(stats, name).tolist() for name in ARRAYS})
    for where in places:
        try:
            write_json_atomic(where, record, options)
            return stats
        except (OSError, InputError) as err:
            log.info(f"{split.key}: statistics not cached in {where} ({err})")
    return stats


def local_cache_dir() -> Path:
    """Where statistics of data in a directory that cannot be written are cached:
    `$XDG_CACHE_HOME/multiout/statistics` (`~/.cache/...` by default)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "multiout", "statistics")


def _read_cache(where: str, key: object, storage_options: dict | None) -> TrainStatistics | None:
    """The statistics a cache file holds if it is there and made for `key`; else None."""
    try:
        if not storage.is_file(where, storage_options):
            return None
        with storage.open_input(where, storage_options) as f:
            saved = json.loads(f.read())
        if saved["key"] != key:
            return None
        arrays = {name: np.array(saved[name]) for name in ARRAYS}
        return TrainStatistics(saved["rows"], **arrays, vocabularies=saved["vocabularies"])
    except (OSError, ValueError, KeyError, TypeError, InputError):
        return None  # a damaged or unreadable cache is computed again
