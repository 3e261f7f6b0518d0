"""Predicted class ids come back as the user's own labels, `label_values[id]`, row by row."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pyarrow as pa
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from multiout.callbacks.prediction_writer import PredictionCSVWriter, join_parts
from tests.strategies import label_values


@st.composite
def predictions(draw) -> tuple[list, torch.Tensor, list[int]]:
    """Label values, class ids `[N, C]`, and the sizes of the batches they are predicted in."""
    values = draw(label_values)
    n, channels = draw(st.integers(1, 40)), draw(st.integers(1, 3))
    ids = draw(st.lists(st.integers(0, len(values) - 1), min_size=n * channels, max_size=n * channels))
    cuts = sorted(draw(st.lists(st.integers(1, n - 1), max_size=4, unique=True))) if n > 1 else []
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    return values, torch.tensor(ids).view(n, channels), sizes


def same_label(text: str, label: object) -> bool:
    """A cell of the written CSV against the label it should spell."""
    if isinstance(label, str):
        return text == label
    if isinstance(label, int) and not isinstance(label, bool):
        return text == str(label) or float(text) == label
    return float(text) == label


@settings(max_examples=40, deadline=None)
@given(prediction=predictions(), save_probabilities=st.booleans())
def test_one_hot_predictions_are_written_as_their_label_values(prediction, save_probabilities):
    values, ids, sizes = prediction
    n, channels = ids.shape
    names = [f"y_{c}" for c in range(channels)]
    row_ids = pa.chunked_array([[f"r{i}" for i in range(n)]])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.csv"
        writer = PredictionCSVWriter(path, names, [values] * len(names), row_ids, "key", save_probabilities)
        # [N, C] ids -> [N, K, C] probabilities, one batch at a time as Lightning hands them over.
        probs = torch.nn.functional.one_hot(ids, len(values)).transpose(1, 2).float()
        for i, batch in enumerate(probs.split(sizes)):
            writer.on_predict_batch_end(None, None, batch, None, i)  # type: ignore[arg-type]
        writer.on_predict_end(None, None)  # type: ignore[arg-type]
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    assert writer.rows_written == n == len(rows)
    for i, row in enumerate(rows):
        assert row["key"] == f"r{i}"
        for c, name in enumerate(names):
            assert same_label(row[name], values[ids[i, c]])
    if save_probabilities:
        assert len(rows[0]) == 1 + channels * (1 + len(values))
        probability = [[float(v) for k, v in row.items() if "_prob_" in k] for row in rows]
        assert probability == [
            [float(ids[i, c] == k) for c in range(channels) for k in range(len(values))] for i in range(n)
        ]


def test_parts_written_by_processes_join_in_rank_order_under_one_header(tmp_path):
    parts = [tmp_path / f"p.csv.part{rank}" for rank in range(3)]
    parts[0].write_text('"key","y"\n"a",1\n"b",-1\n')
    parts[2].write_text('"key","y"\n"c",0\n')  # part 1: a process that predicted nothing
    join_parts(tmp_path / "p.csv", parts)
    assert (tmp_path / "p.csv").read_text() == '"key","y"\n"a",1\n"b",-1\n"c",0\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]
