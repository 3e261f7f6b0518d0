"""What the model learns from a table's training rows, computed one way for every reader.

One pass over blocks of encoded training rows (`encoder.py`; categorical features still as
file codes) gives the per-feature mean, standard deviation and median over the values present
(standardization and imputation), the gaps per feature (missing indicators), the categorical
features' vocabularies (embeddings) and the per-channel label counts (class weights). Moments
are merged in float64 a block at a time (Chan et al.'s pairwise update); a median is exact up
to 16384 values per column, then a uniform sample's (`median_sample.py`). A table read whole
and the same table streamed give the same statistics, holding no more than a block.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from multiout.data.tables.categories import MISSING_CODE, FileCategories, training_vocabulary
from multiout.data.tables.median_sample import MedianSample
from multiout.errors import InputError
from multiout.metrics.per_channel import label_counts

log = logging.getLogger(__name__)

BLOCK_ROWS = 8192  # rows per block: its float64 copies stay a few MB


@dataclass
class TrainStatistics:
    """Rows, per-feature mean, standard deviation and median over the values present (float64;
    0, 1, 0 at categorical positions, which standardizing then leaves unchanged), per-feature
    count of gaps, `[C, K]` label counts and the categorical features' vocabularies."""

    rows: int
    mean: np.ndarray
    std: np.ndarray
    median: np.ndarray
    missing: np.ndarray
    counts: np.ndarray
    vocabularies: dict[str, list]

    def standardization(self) -> tuple[Tensor, Tensor, Tensor]:
        """Mean, standard deviation and median as the model keeps them; a constant feature gets 1."""
        std = self.std.copy()
        std[std < 1e-12] = 1.0
        return tuple(torch.from_numpy(a).float() for a in (self.mean, std, self.median))  # type: ignore[return-value]

    def imputed(self, feature_names: Sequence[str], path: object) -> list[str]:
        """The numeric features with gaps: the model adds a missing indicator for each."""
        shares = {
            name: int(gaps) / max(self.rows, 1)
            for name, gaps in zip(feature_names, self.missing, strict=True)
        }
        return check_missing_shares(shares, self.vocabularies, path)


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


def train_statistics(
    blocks: Iterable[tuple[np.ndarray, np.ndarray | None]],
    feature_names: Sequence[str],
    categories: Mapping[str, FileCategories],
    num_classes: int,
    ignore_index: int,
    max_categories: int = 1000,
    path: object = "data",
) -> TrainStatistics:
    """One pass over blocks `(x [n, F] float32, y [n, C] int64 or None)` of training rows whose
    categorical features (`categories`) hold file codes. More than `max_categories` values in
    one categorical column is an `InputError` naming `path`."""
    width = len(feature_names)
    positions = {name: feature_names.index(name) for name in categories}
    numeric = [j for j in range(width) if j not in positions.values()]
    moments, sample = _Moments(width), MedianSample(len(numeric))
    rows, missing = 0, np.zeros(width, dtype=np.int64)
    seen: dict[str, set[int]] = {name: set() for name in categories}
    counts: Tensor | None = None
    for x, y in blocks:
        wide = x.astype(np.float64)
        present = ~np.isnan(wide)
        for j in positions.values():
            present[:, j] = False  # codes are not numbers: 0, 1, 0 below
        moments.add(wide, present)
        for i, j in enumerate(numeric):
            sample.add(i, x[present[:, j], j])
        missing[numeric] += (~present[:, numeric]).sum(axis=0)
        for name, j in positions.items():
            missing[j] += int(np.count_nonzero(x[:, j] == MISSING_CODE))
            seen[name].update(np.unique(x[:, j]).astype(np.int64).tolist())
        rows += len(x)
        if y is not None:
            block_counts = label_counts(torch.from_numpy(y), num_classes, ignore_index)
            counts = block_counts if counts is None else counts + block_counts
    median = np.zeros(width)
    median[numeric] = sample.medians()
    vocabularies = {
        name: training_vocabulary(name, categories[name], seen[name], max_categories, path)
        for name in categories
    }
    return TrainStatistics(
        rows=rows,
        mean=moments.mean,
        std=np.where(moments.n > 0, moments.std(), 1.0),
        median=median,
        missing=missing,
        counts=(counts if counts is not None else torch.zeros(0, num_classes, dtype=torch.int64)).numpy(),
        vocabularies=vocabularies,
    )


def tensor_blocks(x: Tensor, y: Tensor | None, rows: Tensor | None = None) -> Iterable[tuple]:
    """Blocks of `BLOCK_ROWS` rows of in-memory tensors (of `rows` of them, if given) for
    `train_statistics`, without copying more than a block."""
    count = len(x) if rows is None else len(rows)
    for start in range(0, count, BLOCK_ROWS):
        index = slice(start, start + BLOCK_ROWS) if rows is None else rows[start : start + BLOCK_ROWS]
        yield x[index].numpy(), None if y is None else y[index].numpy()


def check_missing_shares(
    shares: Mapping[str, float], categorical: Collection[str], path: object
) -> list[str]:
    """The numeric features with a share of gaps above 0, logged in one line; a column with
    no value at all (share 1) is an `InputError`."""
    for name, share in shares.items():
        if share == 1.0:
            raise InputError(
                f"{path}: feature column {name!r} has no values in the training split (all missing); "
                f"exclude it with data.exclude_columns=[{name}]"
            )
    shares = {name: share for name, share in shares.items() if share > 0}
    if shares:
        listed = ", ".join(f"{name!r} {share:.1%}" for name, share in shares.items())
        log.info(
            f"missing feature values in the training split: {listed} (numbers: the training median "
            f"plus a missing indicator; categories: a category of their own)"
        )
    return [name for name in shares if name not in categorical]
