"""`data.label_values` as given or `auto`, and the one-line errors for labels a file or a
config gets wrong (`data/tables/labels.py`); class ids are checked against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from multiout.data.tables.labels import (
    EXACT_FLOAT_INT,
    BadLabels,
    check_ignore_index,
    check_labels,
    resolve_label_values,
)
from multiout.errors import InputError
from tests.data.tabular_files import loaded, write_table
from tests.data.test_tabular_errors import error_of

IGNORE = -100


def auto_frame() -> pd.DataFrame:
    """Numbers out of order with a gap, text out of order, and a categorical whose category
    order is not sorted and holds one category no row uses."""
    return pd.DataFrame(
        {
            "f0": np.arange(8, dtype=float),
            "y_num": [3.0, -1.0, np.nan, 10.0, 3.0, -1.0, 10.0, 3.0],
            "y_text": ["pear", "apple", None, "fig", "apple", "pear", "fig", "fig"],
            "y_cat": pd.Categorical(
                ["low", "high", "low", None, "high", "low", "low", "high"],
                categories=["low", "unused", "high"],
            ),
        }
    )


def class_ids(column: pd.Series, values: list) -> list[int]:
    return [IGNORE if pd.isna(v) else values.index(v) for v in column]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_auto_labels_are_the_training_values_sorted_or_in_category_order(tmp_path, suffix):
    frame = auto_frame()
    path = write_table(frame, tmp_path / f"d{suffix}")
    dm = loaded(train_path=path, label_values="auto", ignore_index=IGNORE)
    expected = [
        sorted(int(v) for v in frame["y_num"].dropna().unique()),
        sorted(frame["y_text"].dropna().unique()),
        # Parquet keeps pandas' category order (less the unused one); a CSV has text only.
        ["low", "high"] if suffix == ".parquet" else sorted(frame["y_cat"].dropna().unique()),
    ]
    spec = dm.data_spec()
    assert spec.output.label_values == expected
    assert all(type(v) is int for v in spec.output.label_values[0])  # 3.0 read as the label 3
    got = dm.splits["train"][1].T.tolist()
    for c, name in enumerate(["y_num", "y_text", "y_cat"]):
        assert got[c] == class_ids(frame[name], expected[c])


def test_auto_needs_two_labels_in_each_target(tmp_path):
    frame = auto_frame().assign(y_text=["fig"] * 7 + [None])
    message = error_of(train_path=write_table(frame, tmp_path / "d.csv"), label_values="auto")
    assert "d.csv: target column 'y_text' has 1 distinct label(s) ['fig']" in message
    assert "data.label_values=auto needs at least two" in message


def test_label_values_per_target_and_what_resolves_them():
    targets = ["a", "b"]
    assert resolve_label_values("auto", targets, IGNORE) is None
    assert resolve_label_values({"b": ["x", "y", "z"], "a": [0, 1]}, targets, IGNORE) == [
        [0, 1],
        ["x", "y", "z"],
    ]
    assert resolve_label_values([0, 1], targets, IGNORE) == [[0, 1], [0, 1]]
    with pytest.raises(
        InputError, match=r"^data\.label_values must be a list, a mapping or auto, got 'AUTO'$"
    ):
        resolve_label_values("AUTO", targets, IGNORE)
    with pytest.raises(InputError, match=r"no other; missing \['b'\], not a target \['c'\]$"):
        resolve_label_values({"a": [0, 1], "c": [0, 1]}, targets, IGNORE)
    with pytest.raises(InputError, match=r"missing \[\], not a target \['c'\]$"):
        resolve_label_values({"a": [0, 1], "b": [0, 1], "c": [0, 1]}, targets, IGNORE)
    with pytest.raises(InputError, match=r"^data\.label_values\.b must list at least two distinct labels"):
        resolve_label_values({"a": [0, 1], "b": [2, 2]}, targets, IGNORE)


def test_ignore_index_may_not_be_a_class_id_of_any_target():
    # the widest target has 3 classes: ids 0, 1, 2 collide, 3 and negative ones do not
    for ignore_index in (0, 2):
        with pytest.raises(InputError, match=rf"^data\.ignore_index={ignore_index} collides with class id"):
            check_ignore_index([[0, 1], ["x", "y", "z"]], ignore_index)
    for ignore_index in (3, -1, IGNORE):
        check_ignore_index([[0, 1], ["x", "y", "z"]], ignore_index)
    check_ignore_index([], 0)  # no targets: nothing to collide with


def test_labels_must_be_all_numbers_or_all_text_and_below_2_53():
    with pytest.raises(InputError, match=r"^k must be all numbers or all strings, got \[0, 'a'\]$"):
        check_labels([0, "a"], "k")
    with pytest.raises(InputError, match=rf"^k: {EXACT_FLOAT_INT} is not below 2\*\*53"):
        check_labels([0, EXACT_FLOAT_INT], "k")
    assert check_labels([0, EXACT_FLOAT_INT - 1], "k") == [0, EXACT_FLOAT_INT - 1]


def test_unknown_labels_found_batch_by_batch_keep_the_first_and_add_up():
    bad = BadLabels()
    bad.add("y", 4, "q", 2)
    bad.add("y", 70_000, "r", 5)
    assert bad.found == {"y": (4, "q", 7)}


def text_labels_file(tmp_path, suffix: str) -> tuple[str, list[str]]:
    """Text labels with unknown ones: 'Z' first at row 4 (of 3 'Z'/'W' rows) in y_a, 'Q' in y_b."""
    frame = pd.DataFrame(
        {
            "f0": np.arange(7, dtype=float),
            "y_a": ["a", "b", "a", "Z", "b", "W", "Z"],
            "y_b": ["a", "Q", "b", "b", "a", "a", "b"],
        }
    )
    return write_table(frame, tmp_path / f"d{suffix}"), ["a", "b"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_unknown_text_labels_name_file_column_first_row_value_count_and_other_columns(tmp_path, suffix):
    path, values = text_labels_file(tmp_path, suffix)
    message = error_of(train_path=path, label_values=values)
    assert message == (
        f"{path}: target column 'y_a' has label 'Z', which is not in data.label_values ['a', 'b'] "
        f"(first at row 4, 3 rows); add it to data.label_values or clear those cells to mark them "
        f"missing; other columns with unknown labels: ['y_b']"
    )


def test_one_column_of_unknown_labels_lists_no_others(tmp_path):
    path, _ = text_labels_file(tmp_path, ".csv")
    message = error_of(train_path=path, label_values=["a", "b", "Z", "W"])
    assert message.endswith(
        "(first at row 2, 1 row); add it to data.label_values or clear those cells to mark them missing"
    )


def test_text_labels_match_a_parquet_integer_column_as_text(tmp_path):
    frame = pd.DataFrame(
        {"f0": np.arange(5, dtype=float), "y_a": pd.array([7, 12, None, 12, 7], dtype="Int64")}
    )
    dm = loaded(
        train_path=write_table(frame, tmp_path / "d.parquet"), label_values=["12", "7"], ignore_index=IGNORE
    )
    assert dm.splits["train"][1][:, 0].tolist() == class_ids(frame["y_a"].astype("string"), ["12", "7"])


def test_numbers_written_as_text_in_parquet_read_as_numbers_nan_missing(tmp_path):
    frame = pd.DataFrame({"f0": np.arange(5, dtype=float), "y_a": ["1", "0", "nan", None, "1"]})
    dm = loaded(
        train_path=write_table(frame, tmp_path / "d.parquet"), label_values=[0, 1], ignore_index=IGNORE
    )
    assert dm.splits["train"][1][:, 0].tolist() == [1, 0, IGNORE, IGNORE, 1]


def test_text_that_is_not_a_number_with_numeric_labels_names_column_and_labels(tmp_path):
    frame = pd.DataFrame({"f0": np.arange(3, dtype=float), "y_a": ["1", "zero", "1"]})
    message = error_of(train_path=write_table(frame, tmp_path / "d.parquet"), label_values=[0, 1])
    assert message.startswith(
        f"{tmp_path / 'd.parquet'}: target column 'y_a' (type "
    )  # string or large_string
    assert "cannot hold data.label_values [0, 1] (Failed to parse string: 'zero'" in message


def test_auto_labels_float64_cannot_hold_name_the_target(tmp_path):
    frame = pd.DataFrame({"f0": [0.0, 1.0, 2.0], "y_a": [0, EXACT_FLOAT_INT, 0]})
    message = error_of(train_path=write_table(frame, tmp_path / "d.parquet"), label_values="auto")
    assert message.startswith(f"data.label_values=auto, target 'y_a': {EXACT_FLOAT_INT} is not below 2**53")
