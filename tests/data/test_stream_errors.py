"""Bad streamed input stops with one line naming the file, before any row is trained on."""

from __future__ import annotations

import pandas as pd
import pytest

from multiout.data.stream.datamodule import StreamDataModule
from multiout.errors import InputError
from tests.data.stream_files import write_dataset
from tests.helpers import feature_statistics


def test_a_glob_that_matches_nothing_names_the_key_and_pattern(tmp_path):
    write_dataset(tmp_path / "train")
    pattern = str(tmp_path / "train" / "part-*.pq")
    with pytest.raises(InputError, match=r"^data.train_path='.*part-\*\.pq': no files match this pattern$"):
        StreamDataModule(train_path=pattern)


def test_a_directory_without_parquet_files_and_a_missing_path_are_named(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(
        InputError, match=r"^data.val_path='.*empty': no .parquet or .pq files in this directory$"
    ):
        StreamDataModule(val_path=str(tmp_path / "empty"))
    with pytest.raises(InputError, match=r"^data.train_path='.*nowhere': no such file or directory$"):
        StreamDataModule(train_path=str(tmp_path / "nowhere"))


def test_a_file_whose_column_has_another_type_is_named(tmp_path):
    write_dataset(tmp_path / "train")
    odd = tmp_path / "train" / "part-3.parquet"
    frame = pd.read_parquet(odd)
    frame["f1"] = frame["f1"].astype(str)
    frame.to_parquet(odd, index=False)
    with pytest.raises(InputError, match=r"^.*part-3.parquet: column 'f1' has type (large_)?string, but double in .*part-0.parquet; every file must have the same schema \(data.train_path\)$"):  # fmt: skip
        StreamDataModule(train_path=str(tmp_path / "train"), exclude_columns=["key"])


def test_a_file_without_a_target_column_is_named(tmp_path):
    write_dataset(tmp_path / "train")
    write_dataset(tmp_path / "test")
    odd = tmp_path / "test" / "part-2.parquet"
    pd.read_parquet(odd).drop(columns=["y_b"]).to_parquet(odd, index=False)
    with pytest.raises(InputError, match=r"^.*test/part-2.parquet: target column 'y_b' is not in the file \(data.test_path\)$"):  # fmt: skip
        StreamDataModule(
            train_path=str(tmp_path / "train"), test_path=str(tmp_path / "test"), exclude_columns=["key"]
        )


def test_a_text_feature_and_an_unknown_label_are_named(tmp_path):
    write_dataset(tmp_path / "train")
    with pytest.raises(
        InputError, match=r"part-0.parquet: feature column 'key' is not numeric \(type (large_)?string\)"
    ):
        StreamDataModule(train_path=str(tmp_path / "train"), categorical_columns=[])
    odd = tmp_path / "train" / "part-3.parquet"
    frame = pd.read_parquet(odd)
    frame.loc[6, "y_c"] = 2.0  # the file's 7th row, in its second row group
    frame.to_parquet(odd, index=False, row_group_size=5)
    datamodule = StreamDataModule(train_path=str(tmp_path / "train"), exclude_columns=["key"])
    # The one pass over the training files checks every label before training starts.
    with pytest.raises(InputError, match=r"part-3.parquet: target column 'y_c' has label 2.0, .* \(first at row 7, 1 row\)"):  # fmt: skip
        feature_statistics(datamodule)
