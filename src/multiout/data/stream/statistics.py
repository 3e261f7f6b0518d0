"""What the model learns from a streamed training split, from one pass over its files.

The per-feature mean, standard deviation and median over the values present (standardization
and imputation), the share of gaps per feature (missing indicators), the categorical
features' vocabularies (embeddings) and the per-channel label counts (class weights) come
from one pass over the row groups, merged in float64 (Chan et al.'s pairwise update), so no
more than a row group is held (plus a bounded sample per numeric column for the median,
exact up to 16384 values: `median_sample.py`). The pass also checks every
training value, before training starts. Its result is cached beside the files (or, where
they cannot be written, in a local cache dir), keyed by their paths, sizes and modification
times and by the columns and labels read: a second run on unchanged files reads nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import torch
from torch import Tensor

from multiout.data.stream.parquet_files import ParquetSplit
from multiout.data.stream.rows import RowEncoder
from multiout.data.tables.categories import category_strings, vocabulary
from multiout.data.tables.median_sample import SAMPLE_SIZE, MedianSample
from multiout.data.tables.vocabularies import check_vocabulary_size
from multiout.errors import InputError
from multiout.metrics.per_channel import label_counts
from multiout.runtime import storage
from multiout.runtime.atomic import write_json_atomic

log = logging.getLogger(__name__)

CACHE_PREFIX = ".multiout-statistics-"
ARRAYS = ("mean", "std", "counts", "median", "missing")


@dataclass
class SplitStatistics:
    """Rows, per-feature mean, standard deviation and median over the values present (float64),
    `[C, K]` label counts, per-feature count of missing values, and the categorical features'
    vocabularies. Categorical positions hold 0 in the pass, so they get 0, 1 (after the
    constant-feature rule) and 0: standardizing leaves their indices unchanged."""

    rows: int
    mean: np.ndarray
    std: np.ndarray
    counts: np.ndarray
    median: np.ndarray
    missing: np.ndarray
    vocabularies: dict[str, list]

    def standardization(self) -> tuple[Tensor, Tensor, Tensor]:
        """Mean, standard deviation and median as the model keeps them; a constant feature gets 1."""
        std = self.std.copy()
        std[std < 1e-12] = 1.0
        return tuple(torch.from_numpy(a).float() for a in (self.mean, std, self.median))  # type: ignore[return-value]


class _Moments:
    """NaN-aware per-column mean and sum of squared deviations, merged a block at a time in
    float64 (Chan et al.'s pairwise update), each column over its own count of values."""

    def __init__(self, width: int) -> None:
        self.n, self.mean, self.m2 = np.zeros(width), np.zeros(width), np.zeros(width)

    def add(self, x: np.ndarray, present: np.ndarray) -> None:
        n = present.sum(axis=0)
        mean = np.where(present, x, 0.0).sum(axis=0) / np.maximum(n, 1)
        m2 = np.where(present, np.square(x - mean), 0.0).sum(axis=0)
        total = self.n + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / np.maximum(total, 1))
        self.m2 = self.m2 + m2 + np.square(delta) * (self.n * n / np.maximum(total, 1))
        self.n = total

    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / np.maximum(self.n, 1))


def compute_statistics(
    split: ParquetSplit, encoder: RowEncoder, max_categories: int = 1000
) -> SplitStatistics:
    """One pass over every row group of `split`, in file order: moments, medians (see
    `median_sample.py`), gaps, label counts and the vocabularies of `encoder.categorical`
    (more than `max_categories` values in one is an `InputError`)."""
    features = len(encoder.columns.features)
    numeric = list(encoder.numeric_index.values())
    moments, sample = _Moments(features), MedianSample(len(numeric))
    rows, missing = 0, np.zeros(features, dtype=np.int64)
    seen: dict[str, set[str | None]] = {name: set() for name in encoder.categorical}
    num_classes = max((len(values) for values in encoder.labels.values), default=0)
    counts = torch.zeros(len(encoder.columns.targets), num_classes, dtype=torch.int64)
    for group in split.row_groups:
        table = encoder.load(group)
        block = encoder.encode(table, group.path, group.first_row)
        x = block.x.astype(np.float64)
        present = ~np.isnan(x)
        moments.add(x, present)
        for i, j in enumerate(numeric):
            sample.add(i, block.x[present[:, j], j])
        missing += (~present).sum(axis=0)
        for name, j in encoder.categorical.items():
            column = table.column(name)
            missing[j] += column.null_count
            seen[name].update(pc.unique(category_strings(column)).to_pylist())
            check_vocabulary_size(name, len(seen[name]), max_categories, split.key)
        rows += len(x)
        if block.y is not None:
            counts += label_counts(torch.from_numpy(block.y), num_classes, encoder.labels.ignore_index)
    median = np.zeros(features)
    median[numeric] = sample.medians()
    vocabularies = {name: vocabulary(values) for name, values in seen.items()}
    return SplitStatistics(rows, moments.mean, moments.std(), counts.numpy(), median, missing, vocabularies)


def cached_statistics(
    split: ParquetSplit, encoder: RowEncoder, max_categories: int = 1000
) -> SplitStatistics:
    """`compute_statistics`, from a cache file if one is current: beside the first file (in
    its bucket, for remote data), else in the local cache dir (`local_cache_dir`) under the
    same name. It is written beside the files where that works, else locally: a read-only
    directory or bucket costs the pass, never the run."""
    key = {
        "files": split.fingerprint(),
        "features": encoder.columns.features,
        "targets": encoder.columns.targets,
        "label_values": encoder.labels.values,
        "ignore_index": encoder.labels.ignore_index,
        "categorical": list(encoder.categorical),
        "allow_missing": encoder.allow_missing,
        "max_categories": max_categories,
        "median_sample": SAMPLE_SIZE,
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


def _read_cache(where: str, key: object, storage_options: dict | None) -> SplitStatistics | None:
    """The statistics a cache file holds if it is there and made for `key`; else None."""
    try:
        if not storage.is_file(where, storage_options):
            return None
        with storage.open_input(where, storage_options) as f:
            saved = json.loads(f.read())
        if saved["key"] != key:
            return None
        arrays = {name: np.array(saved[name]) for name in ARRAYS}
        return SplitStatistics(saved["rows"], **arrays, vocabularies=saved["vocabularies"])
    except (OSError, ValueError, KeyError, TypeError, InputError):
        return None  # a damaged or unreadable cache is computed again
