"""The rows of a time-ordered table as series: their order, where each series starts and ends,
and which rows end a full window. Plain index arithmetic, no tensors of windows."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor

from multiout.data.splits import SPLITS, split_sizes
from multiout.data.tables.read import read_columns
from multiout.errors import InputError


def series_layout(
    path: str | Path, num_rows: int, time_column: str | None, group_column: str | None
) -> tuple[np.ndarray | None, list[tuple[int, int]]]:
    """The row order that sorts a file by `group_column`, then `time_column` (None: file order
    is kept), and each series' `(start, stop)` in that order. Sorting is stable: rows with
    equal keys keep their file order."""
    keys = [name for name in (group_column, time_column) if name is not None]
    if not keys:
        return None, [(0, num_rows)]
    table = read_columns(path, keys)
    for name in keys:
        nulls = table.column(name).is_null()
        if pc.any(nulls).as_py():
            first = int(np.flatnonzero(nulls.to_numpy(zero_copy_only=False))[0]) + 1
            role = "group_column" if name == group_column else "time_column"
            raise InputError(
                f"{path}: data.{role} {name!r} has a missing value (first at row {first}); every row "
                "needs one"
            )
    order = (
        pc.sort_indices(table, sort_keys=[(name, "ascending") for name in keys]).to_numpy().astype(np.int64)
    )
    if group_column is None:
        return order, [(0, num_rows)]
    groups = table.column(group_column).take(pa.array(order)).combine_chunks().dictionary_encode()
    codes = groups.indices.to_numpy(zero_copy_only=False)
    cuts = [0, *(np.flatnonzero(np.diff(codes)) + 1).tolist(), num_rows]
    return order, list(itertools.pairwise(cuts))


def window_ends(bounds: list[tuple[int, int]], window: int) -> Tensor:
    """Every row with `window - 1` earlier rows in its series: the ends of full windows."""
    parts = [torch.arange(min(start + window - 1, stop), stop) for start, stop in bounds]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)


def split_series(
    bounds: list[tuple[int, int]],
    window: int,
    val_fraction: float,
    test_fraction: float,
    path: object,
) -> tuple[dict[str, Tensor], Tensor]:
    """Each series cut in time into train, val and test blocks: the window ends of each split
    (a val or test window may read the end of the block before it as context; every target row
    is in one split only) and the training rows (statistics and vocabularies come from them)."""
    ends: dict[str, list[Tensor]] = {split: [] for split in SPLITS}
    train_rows = []
    for number, (start, stop) in enumerate(bounds):
        sizes = split_sizes(stop - start, val_fraction, test_fraction)
        if sizes["train"] < window:
            where = (
                f"series {number + 1} (rows {start + 1}-{stop} once sorted)"
                if len(bounds) > 1
                else "the file"
            )
            raise InputError(
                f"{path}: data.window={window} is longer than the train split of {where}, "
                f"{sizes['train']} rows; lower data.window or the fractions"
            )
        val_start = start + sizes["train"]
        test_start = val_start + sizes["val"]
        ends["train"].append(torch.arange(start + window - 1, val_start))
        ends["val"].append(torch.arange(val_start, test_start))
        ends["test"].append(torch.arange(test_start, stop))
        train_rows.append(torch.arange(start, val_start))
    return {split: torch.cat(parts) for split, parts in ends.items()}, torch.cat(train_rows)


def check_series_length(bounds: list[tuple[int, int]], window: int, path: object) -> None:
    """Every series of a labelled file has at least one full window."""
    for number, (start, stop) in enumerate(bounds):
        if stop - start < window:
            where = (
                f"series {number + 1} (rows {start + 1}-{stop} once sorted) has" if len(bounds) > 1 else "has"
            )
            raise InputError(
                f"{path}: data.window={window} is longer than the file's series: {where} {stop - start} rows"
            )
