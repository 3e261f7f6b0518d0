"""Medians of columns too long to hold: exact up to a sample's size, then a uniform sample's.

An exact median needs every value (or a second pass); the imputation of missing numbers
needs only a typical value. Each column keeps a uniform random sample of at most `size`
values (reservoir sampling, Vitter's algorithm R, drawn a block at a time from a fixed seed,
so the result is the same in every run). While a column has seen no more than `size` values
the sample is all of them and the median is exact; beyond that it is the sample's median,
whose rank in the full column is within about `1 / sqrt(size)` of one half (about ±0.8% for
the default 16384, two standard errors). Memory: `4 * size` bytes per column.
"""

from __future__ import annotations

import numpy as np

SAMPLE_SIZE = 16_384


class MedianSample:
    """A uniform sample of each of `width` columns' values, fed a block of values at a time."""

    def __init__(self, width: int, size: int = SAMPLE_SIZE, seed: int = 0) -> None:
        self.size = size
        self.kept = [np.empty(0, dtype=np.float32) for _ in range(width)]
        self.seen = [0] * width
        self.rng = np.random.default_rng(seed)

    def add(self, column: int, values: np.ndarray) -> None:
        """Feeds the next values (none missing) of `column`."""
        kept, seen = self.kept[column], self.seen[column]
        room = self.size - len(kept)
        if room > 0:
            kept = np.concatenate([kept, values[:room].astype(np.float32)])
            seen += min(room, len(values))
            values = values[room:]
        if len(values):
            # Value number t (from 1) replaces a random slot with probability size / t.
            t = seen + 1 + np.arange(len(values))
            chosen = self.rng.random(len(values)) < self.size / t
            slots = self.rng.integers(0, self.size, int(chosen.sum()))
            kept[slots] = values[chosen]  # repeated slots: the later value wins, as it should
            seen += len(values)
        self.kept[column], self.seen[column] = kept, seen

    def medians(self) -> np.ndarray:
        """Each column's median (float64); 0 for a column that had no values."""
        return np.array([float(np.median(kept)) if len(kept) else 0.0 for kept in self.kept])
