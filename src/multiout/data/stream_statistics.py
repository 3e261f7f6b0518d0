"""What the model learns from a streamed training split, from one pass over its files.

The per-feature mean and standard deviation (standardization) and the per-channel label
counts (class weights) come from one pass over the row groups, merged in float64 (Chan et
al.'s pairwise update), so no more than a row group is held. The pass also checks every
training value, before training starts. Its result is cached beside the files, keyed by
their paths, sizes and modification times and by the columns and labels read: a second run
on unchanged files reads nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.fs as pafs
import torch
from torch import Tensor

from multiout.data.parquet_files import ParquetSplit
from multiout.data.stream_rows import RowEncoder
from multiout.metrics.per_channel import label_counts
from multiout.runtime.atomic import write_json_atomic

log = logging.getLogger(__name__)

CACHE_PREFIX = ".multiout-statistics-"


@dataclass
class SplitStatistics:
    """Rows, per-feature mean and standard deviation (float64), and `[C, K]` label counts."""

    rows: int
    mean: np.ndarray
    std: np.ndarray
    counts: np.ndarray

    def standardization(self) -> tuple[Tensor, Tensor]:
        """Mean and standard deviation as the model keeps them; a constant feature gets 1."""
        std = self.std.copy()
        std[std < 1e-12] = 1.0
        return torch.from_numpy(self.mean).float(), torch.from_numpy(std).float()


def compute_statistics(split: ParquetSplit, encoder: RowEncoder, num_classes: int) -> SplitStatistics:
    """One pass over every row group of `split`, in file order."""
    features = len(encoder.columns.features)
    rows, mean, m2 = 0, np.zeros(features), np.zeros(features)
    counts = torch.zeros(len(encoder.columns.targets), num_classes, dtype=torch.int64)
    for group in split.row_groups:
        block = encoder.read(group)
        x = block.x.astype(np.float64)
        n = len(x)
        block_mean = x.mean(axis=0)
        block_m2 = np.square(x - block_mean).sum(axis=0)
        delta = block_mean - mean
        total = rows + n
        mean = mean + delta * (n / total)
        m2 = m2 + block_m2 + np.square(delta) * (rows * n / total)
        rows = total
        if block.y is not None:
            counts += label_counts(torch.from_numpy(block.y), num_classes, encoder.ignore_index)
    return SplitStatistics(rows, mean, np.sqrt(m2 / rows), counts.numpy())


def cached_statistics(split: ParquetSplit, encoder: RowEncoder, num_classes: int) -> SplitStatistics:
    """`compute_statistics`, from the cache file beside the first file if it is current; a
    directory that cannot be written (or one not on the local disk) is not cached in."""
    key = {
        "files": split.fingerprint(),
        "features": encoder.columns.features,
        "targets": encoder.columns.targets,
        "label_values": encoder.label_values,
        "ignore_index": encoder.ignore_index,
    }
    digest = hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()[:16]
    local = isinstance(split.row_groups[0].fragment.filesystem, pafs.LocalFileSystem)
    path = Path(split.files[0].path).parent / f"{CACHE_PREFIX}{digest}.json" if local else None
    if path is not None and path.is_file():
        try:
            saved = json.loads(path.read_text())
            if saved["key"] == json.loads(json.dumps(key, default=str)):
                return SplitStatistics(
                    saved["rows"], np.array(saved["mean"]), np.array(saved["std"]), np.array(saved["counts"])
                )
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is computed again
    stats = compute_statistics(split, encoder, num_classes)
    record = {"key": key, "rows": stats.rows, "mean": stats.mean.tolist(), "std": stats.std.tolist()}
    try:
        if path is None or not os.access(path.parent, os.W_OK):
            raise OSError("the files' directory is not writable or not local")
        write_json_atomic(path, {**record, "counts": stats.counts.tolist()})
    except OSError as err:
        log.info(f"{split.key}: statistics not cached ({err}); the next run makes the pass again")
    return stats
