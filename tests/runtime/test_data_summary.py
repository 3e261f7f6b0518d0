"""The data summary of a table with text columns, gaps, an excluded and an id column, against
pandas' own counts of the files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from multiout.runtime.build import data_spec
from multiout.runtime.data_summary import report_summary, summary_lines, summary_of
from tests.data.tabular_files import loaded, make_frame, write_table


@pytest.fixture
def table(tmp_path):
    """Train, val and test files: a text column with gaps, a numeric one with gaps, a column to exclude."""
    paths = {}
    for split, n, seed in (("train", 60, 0), ("val", 20, 1), ("test", 25, 2)):
        frame = make_frame(n, seed)
        rng = np.random.default_rng(seed)
        frame["city"] = rng.choice(["oslo", "rome", "lima", None], size=n)
        frame.loc[rng.random(n) < 0.25, "f1"] = np.nan
        frame["note"] = "x"
        paths[split] = write_table(frame, tmp_path / f"{split}.csv")
    return paths


def test_the_summary_counts_what_pandas_counts(table, tmp_path):
    import pandas as pd

    datamodule = loaded(
        train_path=table["train"], val_path=table["val"], test_path=table["test"],
        exclude_columns=["note"], id_column="id",
    )  # fmt: skip
    spec = data_spec(datamodule, {"exclude_columns": ["note"], "id_column": "id"})
    summary = summary_of(spec, datamodule)
    train = pd.read_csv(table["train"])
    assert summary["rows"] == {split: len(pd.read_csv(path)) for split, path in table.items()}
    assert summary["features"]["numeric"] == ["f0", "f1", "f2"]
    # The vocabulary: the training split's values, plus one entry for a missing category.
    assert summary["features"]["categorical"] == {
        "city": train["city"].nunique() + train["city"].isna().any()
    }
    assert summary["features"]["imputed"] == {"f1": pytest.approx(train["f1"].isna().mean())}
    assert summary["channels"] == ["y_a", "y_b"]
    assert summary["label_values"] == {"y_a": [-1, 0, 1], "y_b": [-1, 0, 1]}
    for channel in ("y_a", "y_b"):
        expected = [int((train[channel] == value).sum()) for value in (-1, 0, 1)]
        assert summary["train_label_counts"][channel] == expected  # missing labels counted nowhere
    assert summary["excluded_columns"] == ["note"] and summary["id_column"] == "id"

    lines = summary_lines(summary)
    assert lines[0] == f"rows: train {len(train)}, val 20, test 25"
    assert "1 categorical (vocabulary sizes: city " in lines[1]
    assert lines[2].endswith(f"f1 {train['f1'].isna().mean():.1%}")
    assert lines[-1] == "columns not used as features: excluded note; id id"
    report_summary(spec, datamodule, tmp_path)
    assert json.loads((tmp_path / "data_summary.json").read_text()) == json.loads(json.dumps(summary))
