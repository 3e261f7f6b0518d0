"""Labels -> class ids, channel by channel: the one label mapping of every data module.

`data.label_values` is one list shared by every target (`[-1, 0, 1]`), a mapping from each
target to its own list (`{cut: [Fair, Good, ...], colour: [D, E, ...]}`), or `auto`: each
target's distinct values in the training split, numbers in numeric order, text sorted, a
Parquet dictionary column (a pandas categorical) in its own order. Label `values[c][k]` of
target `c` is class id `k`; an empty (or NaN) cell is a missing label, `ignore_index`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from multiout.errors import InputError

# Numeric labels are compared as float64, which holds every integer below this size exactly.
EXACT_FLOAT_INT = 2**53


def numeric_labels(label_values: Sequence) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in label_values)


def quoted_labels(label_values: Sequence) -> str:
    """How to read numeric labels as text instead, where float64 cannot tell them apart: an
    override quoted for the shell, which would otherwise strip the inner quotes."""
    quoted = ",".join(f'"{v}"' for v in label_values)
    return f"give them as text, 'data.label_values=[{quoted}]', to compare the labels as text"


def check_labels(values: Sequence, key: str = "data.label_values") -> list:
    """One channel's labels: at least two, distinct, all numbers (below 2**53) or all text."""
    values = list(values)
    if len(values) < 2 or len({repr(v) for v in values}) != len(values):
        raise InputError(f"{key} must list at least two distinct labels, got {values}")
    if not (numeric_labels(values) or all(isinstance(v, str) for v in values)):
        raise InputError(f"{key} must be all numbers or all strings, got {values}")
    beyond = [v for v in values if isinstance(v, int) and abs(v) >= EXACT_FLOAT_INT]
    if beyond:
        raise InputError(
            f"{key}: {beyond[0]} is not below 2**53, from where numbers lose digits as float64 (how "
            f"numeric labels are compared); {quoted_labels(values)}"
        )
    return values


def resolve_label_values(
    label_values: str | Sequence | Mapping, targets: Sequence[str], ignore_index: int
) -> list[list] | None:
    """One label list per target from `data.label_values`; None for `auto`, which the data
    module resolves from its training split (`distinct_labels`)."""
    if isinstance(label_values, str):
        if label_values != "auto":
            raise InputError(f"data.label_values must be a list, a mapping or auto, got {label_values!r}")
        return None
    if isinstance(label_values, Mapping):
        missing = [name for name in targets if name not in label_values]
        extra = [name for name in label_values if name not in targets]
        if missing or extra:
            raise InputError(
                f"data.label_values must give the labels of every target column and no other; "
                f"missing {missing}, not a target {extra}"
            )
        resolved = [check_labels(label_values[name], f"data.label_values.{name}") for name in targets]
    else:
        resolved = [check_labels(label_values)] * len(targets)
    check_ignore_index(resolved, ignore_index)
    return resolved


def check_ignore_index(label_values: Sequence[Sequence], ignore_index: int) -> None:
    num_classes = max((len(v) for v in label_values), default=0)
    if 0 <= ignore_index < num_classes:
        raise InputError(f"data.ignore_index={ignore_index} collides with class id {ignore_index}; use -100")


def distinct_labels(column: pa.ChunkedArray | pa.Array, name: str, where: object) -> list:
    """`auto`: a target's labels in class order, from its training values (nulls and NaN are
    missing labels): a dictionary column's own order, else numbers ascending or text sorted."""
    if pa.types.is_dictionary(column.type):
        combined = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        used = set(pc.unique(combined.indices).drop_null().to_pylist())
        values = [v for i, v in enumerate(combined.dictionary.to_pylist()) if i in used]
    else:
        values = [v for v in pc.unique(column).drop_null().to_pylist() if v == v]  # NaN != NaN
        values = sorted(values)
    if pa.types.is_floating(column.type) or pa.types.is_dictionary(column.type):
        values = [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]
    if len(values) < 2:
        raise InputError(
            f"{where}: target column {name!r} has {len(values)} distinct label(s) {values} in the training "
            f"split (data.label_values=auto needs at least two); exclude it or give its labels"
        )
    return check_labels(values, f"data.label_values=auto, target {name!r}")


@dataclass
class BadLabels:
    """Label values outside their channel's labels, per column: first row, first value, count."""

    found: dict[str, tuple[int, object, int]] = field(default_factory=dict)

    def add(self, column: str, first_row: int, value: object, count: int) -> None:
        if column in self.found:
            row, first_value, seen = self.found[column]
            self.found[column] = (row, first_value, seen + count)
        else:
            self.found[column] = (first_row, value, count)

    def check(self, path: object, labels: LabelMapping) -> None:
        """One `InputError` for everything found: the first column in full, the others by name."""
        if not self.found:
            return
        name, (row, value, count) = next(iter(self.found.items()))
        values = labels.values[labels.index[name]]
        how_many = "1 row" if count == 1 else f"{count} rows"
        shown, fix = repr(value), "add it to data.label_values or clear those cells to mark them missing"
        if isinstance(value, float) and math.isfinite(value) and abs(value) >= EXACT_FLOAT_INT:
            shown = f"of about {value:.17g}"
            fix = f"numbers from 2**53 on lose digits as float64; {quoted_labels(values)}"
        raise InputError(
            f"{path}: target column {name!r} has label {shown}, which is not in data.label_values "
            f"{list(values)} (first at row {row}, {how_many}); {fix}"
            + (f"; other columns with unknown labels: {list(self.found)[1:]}" if len(self.found) > 1 else "")
        )


class LabelMapping:
    """Class ids `[N, C]` of target columns as Arrow reads them, checking every value."""

    def __init__(self, targets: Sequence[str], label_values: Sequence[Sequence], ignore_index: int) -> None:
        self.targets = list(targets)
        self.values = [list(v) for v in label_values]
        self.ignore_index = ignore_index
        self.index = {name: c for c, name in enumerate(self.targets)}
        self.numeric = [numeric_labels(v) for v in self.values]
        self.value_sets = [
            pa.array(v).cast(pa.float64() if numeric else pa.string())
            for v, numeric in zip(self.values, self.numeric, strict=True)
        ]

    def read_type(self, name: str) -> pa.DataType:
        """How a CSV reader reads target `name`: as numbers where its labels are numbers."""
        return self.value_sets[self.index[name]].type

    def write(
        self, batch: pa.RecordBatch | pa.Table, block: np.ndarray, where: tuple[object, int], bad: BadLabels
    ) -> None:
        """Writes the class ids of the batch's target columns into their columns of `block`
        (the batch's rows); labels outside a channel's set go to `bad`."""
        path, row0 = where
        for name in (name for name in batch.schema.names if name in self.index):
            c = self.index[name]
            column = batch.column(name)
            if self.numeric[c] and (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
                block[:, c] = self._numeric_ids(column, c, name, row0, bad)
                continue
            try:  # integers beyond 2**53 as the nearest float: reported as unknown labels
                column = column.cast(self.value_sets[c].type, safe=not pa.types.is_integer(column.type))
            except pa.ArrowInvalid as err:
                raise InputError(
                    f"{path}: target column {name!r} (type {column.type}) cannot hold data.label_values "
                    f"{self.values[c]} ({err})"
                ) from err
            missing = column.is_null(nan_is_null=True)
            ids = pc.index_in(column, value_set=self.value_sets[c])
            unknown = pc.and_(pc.invert(missing), ids.is_null()).to_numpy(zero_copy_only=False)
            if unknown.any():
                rows = np.flatnonzero(unknown)
                bad.add(name, row0 + int(rows[0]) + 1, column[int(rows[0])].as_py(), len(rows))
            block[:, c] = ids.fill_null(self.ignore_index).to_numpy(zero_copy_only=False)

    def _numeric_ids(
        self, column: pa.Array | pa.ChunkedArray, c: int, name: str, row0: int, bad: BadLabels
    ) -> np.ndarray:
        """A numeric column's class ids by a few float64 comparisons (streaming converts every row
        of every epoch): an empty or NaN cell is `ignore_index`."""
        raw = (
            column.to_numpy()
            if isinstance(column, pa.ChunkedArray)
            else column.to_numpy(zero_copy_only=False)
        )
        values = raw.astype(np.float64, copy=False)  # nulls become NaN
        ids = np.select(
            [values == v for v in self.values[c]], list(range(len(self.values[c]))), self.ignore_index
        )
        unknown = (ids == self.ignore_index) & ~np.isnan(values)
        if unknown.any():
            rows = np.flatnonzero(unknown)
            bad.add(name, row0 + int(rows[0]) + 1, float(values[rows[0]]), len(rows))
        return ids
