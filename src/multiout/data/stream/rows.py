"""Rows of a Parquet split: which ones a process takes in an epoch, read and converted a range
at a time from the row groups that range overlaps.

The epoch's rows are its row groups laid end to end (in an order shuffled per epoch for
training). That global row space is cut as `ShardedBatchSampler` cuts its indices, into
`num_batches * world_size` chunks whose sizes differ by at most one; here each process takes
`num_batches` consecutive chunks, one contiguous range, so it reads only the row groups that
range overlaps, and its rows come before the next process's (which keeps predictions in
input order).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from multiout.data.stream.parquet_files import RowGroup
from multiout.data.tables.categories import VocabularyIndices, log_unseen
from multiout.data.tables.encoder import RowEncoder
from multiout.errors import InputError


def rank_batches(num_rows: int, batch_size: int, world_size: int, rank: int) -> tuple[int, list[int]]:
    """This process's first row in the epoch's row space, and the sizes of its batches.

    Every process gets `ceil(num_rows / (batch_size * world_size))` batches (DDP needs the same
    count everywhere), no batch exceeds `batch_size`, and the ranges of all processes cover
    every row exactly once.
    """
    per_rank = math.ceil(num_rows / (batch_size * world_size))
    small, larger = divmod(num_rows, per_rank * world_size)  # the first `larger` chunks hold one more
    first_chunk = rank * per_rank
    sizes = [small + (chunk < larger) for chunk in range(first_chunk, first_chunk + per_rank)]
    return first_chunk * small + min(first_chunk, larger), sizes


@dataclass
class Rows:
    """Converted rows: features `[N, F]` float32, class ids `[N, C]` int64 (none when
    predicting) and the id column's values (when predicting with an id column)."""

    x: np.ndarray
    y: np.ndarray | None
    ids: pa.Array | None

    def __len__(self) -> int:
        return len(self.x)

    def slice(self, start: int, stop: int) -> Rows:
        y = None if self.y is None else self.y[start:stop]
        return Rows(self.x[start:stop], y, None if self.ids is None else self.ids[start:stop])

    @staticmethod
    def join(parts: Sequence[Rows]) -> Rows:
        if len(parts) == 1:
            return parts[0]
        y = None if parts[0].y is None else np.concatenate([p.y for p in parts])
        ids = None if parts[0].ids is None else pa.concat_arrays([p.ids for p in parts])
        return Rows(np.concatenate([p.x for p in parts]), y, ids)

    def batches(self, sizes: list[int], order: Tensor | None) -> list[tuple]:
        """Batches of `sizes` rows, after reordering the rows by `order` (if given): `(x, y)`
        when labelled, else `(x,)` or `(x, ids)`."""
        x = torch.from_numpy(self.x)
        y = None if self.y is None else torch.from_numpy(self.y)
        if order is not None:
            x = x.index_select(0, order)
            y = None if y is None else y.index_select(0, order)
        xs = x.split(sizes)
        if y is not None:
            return list(zip(xs, y.split(sizes), strict=True))
        if self.ids is None:
            return [(part,) for part in xs]
        bounds = [0, *itertools.accumulate(sizes)]
        return [(part, self.ids[a:b]) for part, a, b in zip(xs, bounds, bounds[1:], strict=False)]


class GroupReader:
    """Reads a row group's columns and converts them with the row encoder (`tables/encoder.py`),
    counting the categories training never saw (`VocabularyIndices`)."""

    def __init__(self, encoder: RowEncoder) -> None:
        self.encoder = encoder

    def load(self, group: RowGroup) -> pa.Table:
        """The row group's columns as Arrow reads them."""
        try:
            return group.fragment.to_table(columns=self.encoder.wanted)
        except (pa.ArrowException, OSError) as err:
            raise InputError(f"{group.path}: cannot read row group ({err})") from err

    def read(self, group: RowGroup) -> Rows:
        table = self.load(group)
        x, y = self.encoder.encode(table, group.path, group.first_row)
        ids = None
        if self.encoder.columns.id is not None:
            ids = table.column(self.encoder.columns.id).cast(pa.string()).combine_chunks()
        return Rows(x, y, ids)

    def start_counting_unseen(self) -> None:
        for categories in self.encoder.categories.values():
            if isinstance(categories, VocabularyIndices):
                categories.unseen = 0

    def log_unseen(self, split: str) -> None:
        """One line for the values training never saw (now unknown), counted as rows were read."""
        unseen = {
            name: categories.unseen
            for name, categories in self.encoder.categories.items()
            if isinstance(categories, VocabularyIndices)
        }
        log_unseen(split, unseen)


class RowSource:
    """The rows of `groups` laid end to end in `order`: any range of them, read from the row
    groups it overlaps. The last row group read is kept, so consecutive ranges read each
    row group once."""

    def __init__(self, groups: Sequence[RowGroup], order: Sequence[int], reader: GroupReader) -> None:
        self.groups = [groups[i] for i in order]
        self.starts = [0, *itertools.accumulate(group.num_rows for group in self.groups)]
        self.reader = reader
        self._last: tuple[int, Rows] | None = None

    def read(self, start: int, stop: int) -> Rows:
        """Rows `start` to `stop` (exclusive) of the row space."""
        parts = []
        index = bisect.bisect_right(self.starts, start) - 1
        while start < stop:
            rows = self._group(index)
            offset = start - self.starts[index]
            take = min(stop - start, len(rows) - offset)
            parts.append(rows.slice(offset, offset + take))
            start += take
            index += 1
        return Rows.join(parts)

    def _group(self, index: int) -> Rows:
        if self._last is None or self._last[0] != index:
            self._last = (index, self.reader.read(self.groups[index]))
        return self._last[1]
