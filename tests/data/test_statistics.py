"""The one statistics pass (`data/tables/statistics.py`) against numpy over the same rows: more
rows than one block, a constant feature, a feature with one value, a categorical one."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch

from multiout.data.tables.categories import FileCategories
from multiout.data.tables.statistics import BLOCK_ROWS, tensor_blocks, train_statistics
from multiout.errors import InputError

NAMES = ["normal", "constant", "once", "kind"]


def features(n: int) -> tuple[np.ndarray, dict[str, FileCategories]]:
    """A normal feature with gaps, a constant one, one with a single value, and a categorical one."""
    rng = np.random.default_rng(0)
    x = np.full((n, len(NAMES)), np.nan, dtype=np.float32)
    x[:, 0] = rng.normal(3.0, 2.0, size=n)
    x[rng.random(n) < 0.1, 0] = np.nan
    x[:, 1] = 7.5
    x[n - 3, 2] = -4.0
    kinds = FileCategories()
    x[:, 3] = kinds.codes(pa.array(rng.choice(["a", "b", "c"], size=n)))
    return x, {"kind": kinds}


@pytest.mark.parametrize("subset", [False, True])
def test_statistics_of_more_rows_than_a_block_are_numpys(subset):
    x, categories = features(BLOCK_ROWS + 4_000)
    rows = torch.arange(1, len(x), 2) if subset else None  # every other row: still more than a block
    stats = train_statistics(tensor_blocks(torch.from_numpy(x), None, rows), NAMES, categories, 3, -100)
    chosen = x if rows is None else x[rows.numpy()]
    numeric = chosen[:, :3].astype(np.float64)
    assert stats.rows == len(chosen)
    np.testing.assert_allclose(stats.mean[:3], np.nanmean(numeric, axis=0), rtol=1e-9)
    np.testing.assert_allclose(stats.std[:3], np.nanstd(numeric, axis=0), rtol=1e-9, atol=1e-12)
    assert stats.missing.tolist() == [*np.isnan(numeric).sum(axis=0).tolist(), 0]
    assert (stats.mean[3], stats.std[3], stats.median[3]) == (0.0, 1.0, 0.0)  # categorical: left alone
    assert stats.median[1:3].tolist() == [7.5, -4.0]
    assert stats.vocabularies == {"kind": ["a", "b", "c"]}
    _, std, _ = stats.standardization()
    # a constant feature and one with a single value have std 0, which standardizing divides by as 1
    assert std[1:].tolist() == [1.0, 1.0, 1.0]
    assert std[0].item() == pytest.approx(np.nanstd(numeric[:, 0]), rel=1e-6)


def test_label_counts_leave_out_the_ignore_index():
    y = np.array([[0, -1], [2, 1], [-1, 1], [2, 0]], dtype=np.int64)
    x = np.zeros((4, 1), dtype=np.float32)
    stats = train_statistics([(x[:2], y[:2]), (x[2:], y[2:])], ["f"], {}, 3, ignore_index=-1)
    expected = np.zeros((2, 3), dtype=np.int64)
    for row in y:
        for c, label in enumerate(row):
            if label != -1:
                expected[c, label] += 1
    assert stats.counts.tolist() == expected.tolist()


def test_a_feature_missing_in_the_one_training_row_is_named():
    x = np.array([[1.0, np.nan]], dtype=np.float32)
    stats = train_statistics([(x, None)], ["a", "b"], {}, 2, -100)
    with pytest.raises(
        InputError, match=r"^train\.csv: feature column 'b' has no values in the training split"
    ):
        stats.imputed(["a", "b"], "train.csv")


def test_too_many_categories_names_the_file():
    x, categories = features(30)
    with pytest.raises(InputError, match=r"^train\.csv: categorical column 'kind' has 3 distinct values"):
        train_statistics([(x, None)], NAMES, categories, 2, -100, max_categories=2, path="train.csv")
