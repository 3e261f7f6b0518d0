"""Labels read from a file become `label_values.index(label)`, whatever the labels' order and type."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.data.tabular_files import loaded
from tests.strategies import label_values

IGNORE = -100
# Cells that Arrow's CSV reader reads as null, and so as a missing label (docs/data.md).
CSV_MISSING = set(pacsv.ConvertOptions().null_values)


@st.composite
def labelled_tables(draw) -> tuple[list, list[list]]:
    """Label values, and a table of labels drawn from them (None: a missing cell), rows x channels."""
    values = draw(label_values)
    channels = draw(st.integers(1, 3))
    cell = st.one_of(st.none(), st.sampled_from(values))
    rows = draw(st.lists(st.lists(cell, min_size=channels, max_size=channels), min_size=1, max_size=25))
    return values, rows


def write_csv(path: Path, rows: list[list]) -> None:
    """The labels as text, a missing label as an empty cell, one float feature per row."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["f0", *(f"y_{c}" for c in range(len(rows[0])))])
        for i, row in enumerate(rows):
            writer.writerow([float(i), *("" if v is None else str(v) for v in row)])


def write_parquet(path: Path, values: list, rows: list[list]) -> None:
    """Labels in a typed column (string, int64 or float64) with nulls for missing labels."""
    if all(isinstance(v, str) for v in values):
        kind = pa.string()
    elif all(isinstance(v, int) for v in values):
        kind = pa.int64()
    else:
        kind = pa.float64()
    columns = {"f0": pa.array([float(i) for i in range(len(rows))])}
    for c in range(len(rows[0])):
        columns[f"y_{c}"] = pa.array([row[c] for row in rows], type=kind)
    pq.write_table(pa.table(columns), path)


@settings(max_examples=80, deadline=None)
@given(table=labelled_tables(), suffix=st.sampled_from([".csv", ".parquet"]))
def test_each_label_is_read_as_its_position_in_label_values(table, suffix):
    values, rows = table
    assume(suffix != ".csv" or not CSV_MISSING.intersection(v for v in values if isinstance(v, str)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"labels{suffix}"
        write_csv(path, rows) if suffix == ".csv" else write_parquet(path, values, rows)
        dm = loaded(train_path=str(path), label_values=values, ignore_index=IGNORE)
    expected = [[IGNORE if v is None else values.index(v) for v in row] for row in rows]
    assert dm.num_classes == len(values)
    assert dm.splits["train"][1].tolist() == expected
    assert torch.equal(dm.splits["train"][0][:, 0], torch.arange(len(rows), dtype=torch.float32))


def test_a_csv_label_spelled_like_a_missing_marker_is_not_silently_dropped(tmp_path):
    path = tmp_path / "labels.csv"
    write_csv(path, [["NA"], ["EU"], [None]])
    dm = loaded(train_path=str(path), label_values=["NA", "EU"], ignore_index=IGNORE)
    assert dm.splits["train"][1].tolist() == [[0], [1], [IGNORE]]
