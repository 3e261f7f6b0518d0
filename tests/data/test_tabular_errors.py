"""Every bad input stops with an `InputError` that says what is wrong and where."""

import numpy as np
import pytest

from multiout.data.tables.datamodule import TabularDataModule
from multiout.errors import InputError
from tests.data.tabular_files import loaded, make_frame, write_table


def error_of(**kwargs) -> str:
    """The error of building the data module and reading its files, as a run does before training."""
    with pytest.raises(InputError) as info:
        loaded(**kwargs)
    return str(info.value)


def test_missing_file_names_the_path(tmp_path):
    message = error_of(path=str(tmp_path / "nope.csv"))
    assert "nope.csv" in message and "no such file" in message


def test_not_a_csv_or_parquet_file(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("a,b\n1,2\n")
    assert "expected a CSV (.csv) or Parquet" in error_of(path=str(path))
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet at all")
    assert "broken.parquet: not a readable Parquet file" in error_of(path=str(broken))


@pytest.mark.parametrize("content", ["", "f0,y_a\n"])
def test_file_without_rows(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    message = error_of(path=str(path))
    assert "empty.csv" in message and ("no rows" in message or "is empty" in message)


def test_split_that_ends_up_empty(tmp_path):
    path = write_table(make_frame(4), tmp_path / "d.csv")
    message = error_of(path=path, exclude_columns=["id"], val_fraction=0.1, test_fraction=0.1)
    assert "leave the val/test split empty with 4 rows" in message


def test_missing_target_column_lists_close_matches(tmp_path):
    path = write_table(make_frame(), tmp_path / "d.csv")
    message = error_of(path=path, target_columns=["y_a", "y_bb"], exclude_columns=["id"])
    assert "target column 'y_bb'" in message and "'y_b'" in message and "d.csv" in message
    assert "no column matches data.target_columns='z_*'" in error_of(path=path, target_columns="z_*")


def test_missing_feature_column_in_a_later_file(tmp_path):
    frame = make_frame()
    train = write_table(frame, tmp_path / "train.csv")
    val = write_table(frame.drop(columns=["f1"]), tmp_path / "val.csv")
    message = error_of(train_path=train, val_path=val, exclude_columns=["id"])
    assert "val.csv: feature column 'f1'" in message


def test_label_not_in_label_values_names_column_value_row_and_count(tmp_path):
    frame = make_frame()
    frame.loc[[3, 7, 8], "y_b"] = 2.0
    path = write_table(frame, tmp_path / "d.csv")
    message = error_of(path=path, exclude_columns=["id"])
    assert "target column 'y_b' has label 2.0" in message
    assert "first at row 4, 3 rows" in message and "[-1, 0, 1]" in message


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_non_numeric_feature_column_suggests_excluding_it(tmp_path, suffix):
    frame = make_frame()
    frame["colour"] = "red"
    path = write_table(frame, tmp_path / f"d{suffix}")
    message = error_of(path=path, exclude_columns=["id"], categorical_columns=[])
    assert "feature column 'colour' is not numeric" in message
    assert "data.exclude_columns=[colour]" in message


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_feature_names_column_and_first_row(tmp_path, bad):
    frame = make_frame()
    frame.loc[[5, 9], "f2"] = bad
    path = write_table(frame, tmp_path / "d.parquet")
    message = error_of(path=path, exclude_columns=["id"], missing_features="error")
    assert "feature column 'f2'" in message and "first at row 6" in message


def test_path_and_per_split_paths_are_exclusive(tmp_path):
    path = write_table(make_frame(), tmp_path / "d.csv")
    assert "not both" in error_of(path=path, train_path=path)
    assert "no file given" in error_of()


def test_missing_split_is_reported_when_asked_for(tmp_path):
    dm = TabularDataModule(test_path=write_table(make_frame(), tmp_path / "d.csv"), exclude_columns=["id"])
    with pytest.raises(InputError, match=r"no train split; set data\.path or data\.train_path"):
        dm.train_dataloader()


def test_label_values_must_be_distinct(tmp_path):
    path = write_table(make_frame(), tmp_path / "d.csv")
    assert "at least two distinct labels" in error_of(path=path, label_values=[0, 0, 1])


BIG = 2**53 + 1  # the first integer float64 cannot hold: read as a number, it becomes 2**53


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_label_float64_cannot_hold_names_file_column_row_and_the_text_labels_to_give(tmp_path, suffix):
    frame = make_frame().fillna(0).astype({"y_a": "int64", "y_b": "int64"})
    frame.loc[5, "y_b"] = BIG
    path = write_table(frame, tmp_path / f"d{suffix}")
    if suffix == ".csv":
        assert f",{BIG}\n" in (tmp_path / "d.csv").read_text()  # the integer, not a rounded float
    message = error_of(path=path, exclude_columns=["id"])
    assert f"d{suffix}: target column 'y_b' has label of about {2**53}" in message
    assert "first at row 6, 1 row" in message and """'data.label_values=["-1","0","1"]'""" in message


def test_label_values_float64_cannot_hold_stop_before_reading_with_the_text_labels_to_give(tmp_path):
    path = write_table(make_frame(), tmp_path / "d.csv")
    message = error_of(path=path, exclude_columns=["id"], label_values=[-1, 0, BIG])
    assert message.startswith(f"data.label_values: {BIG} is not below 2**53")
    assert f"""'data.label_values=["-1","0","{BIG}"]'""" in message


def test_labels_given_as_text_tell_integers_beyond_float64_apart(tmp_path):
    labels = [-1, 0, BIG, BIG - 1, 0, BIG]  # BIG - 1 is 2**53, which float64 would take BIG for
    path = tmp_path / "d.csv"
    path.write_text("f0,y_a\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels)))
    values = ["-1", "0", str(BIG - 1), str(BIG)]
    datamodule = loaded(train_path=str(path), label_values=values)
    expected = [values.index(str(label)) for label in labels]  # by hand
    assert datamodule.splits["train"][1][:, 0].tolist() == expected


def test_an_infinite_label_is_unknown_not_a_number_to_give_as_text(tmp_path):
    frame = make_frame().fillna(0)
    frame.loc[2, "y_a"] = float("inf")
    message = error_of(path=write_table(frame, tmp_path / "d.csv"), exclude_columns=["id"])
    assert "target column 'y_a' has label inf" in message and "as text" not in message
