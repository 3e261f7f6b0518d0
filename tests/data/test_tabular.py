import math

import numpy as np
import pandas as pd
import pytest
import torch

from multiout.data.tables.datamodule import TabularDataModule
from tests.data.tabular_files import loaded, make_frame, write_table
from tests.helpers import feature_statistics

LABELS = {-1: 0, 0: 1, 1: 2}


def expected_ids(frame: pd.DataFrame, columns: list[str]) -> torch.Tensor:
    """Class ids the independent way: a dict lookup, missing -> -100."""
    values = [[-100 if math.isnan(v) else LABELS[int(v)] for v in row] for row in frame[columns].to_numpy()]
    return torch.tensor(values, dtype=torch.int64)


def per_split(path: str, **kwargs) -> TabularDataModule:
    """Every split read from the same file: the train split is then the whole file."""
    return loaded(train_path=path, val_path=path, test_path=path, exclude_columns=["id"], **kwargs)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_reads_features_and_maps_labels_to_class_ids(tmp_path, suffix):
    frame = make_frame()
    dm = per_split(write_table(frame, tmp_path / f"data{suffix}"))
    x, y = dm.splits["train"]
    assert dm.feature_names == ["f0", "f1", "f2"] and dm.channel_names == ["y_a", "y_b"]
    assert (len(dm.feature_names), len(dm.channel_names), dm.num_classes) == (3, 2, 3)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    torch.testing.assert_close(x, torch.tensor(frame[["f0", "f1", "f2"]].to_numpy(), dtype=torch.float32))
    assert torch.equal(y, expected_ids(frame, ["y_a", "y_b"]))


def test_csv_and_parquet_give_identical_tensors(tmp_path):
    frame = make_frame()
    from_csv = per_split(write_table(frame, tmp_path / "d.csv"))
    from_parquet = per_split(write_table(frame, tmp_path / "d.parquet"))
    for a, b in zip(from_csv.splits["train"], from_parquet.splits["train"], strict=True):
        assert torch.equal(a, b)


def test_target_list_feature_list_and_string_labels(tmp_path):
    frame = make_frame()
    names = {-1.0: "down", 0.0: "flat", 1.0: "up"}
    frame["y_b"] = frame["y_b"].map(names)  # NaN stays missing
    path = write_table(frame, tmp_path / "d.csv")
    dm = per_split(
        path, target_columns=["y_b"], feature_columns=["f2", "f0"], label_values=["down", "flat", "up"]
    )
    assert dm.feature_names == ["f2", "f0"] and dm.channel_names == ["y_b"]
    reverse = {v: k for k, v in names.items()}
    expected = expected_ids(frame.assign(y_b=frame["y_b"].map(reverse)), ["y_b"])
    assert torch.equal(dm.splits["train"][1], expected)


def test_standardization_statistics_come_from_the_training_split_only(tmp_path):
    train, other = make_frame(50, seed=1), make_frame(30, seed=2) * 1  # different rows
    other[["f0", "f1", "f2"]] += 100.0
    dm = loaded(
        train_path=write_table(train, tmp_path / "train.csv"),
        val_path=write_table(other, tmp_path / "val.csv"),
        test_path=write_table(other, tmp_path / "test.csv"),
        exclude_columns=["id"],
    )
    features = train[["f0", "f1", "f2"]].to_numpy().astype(np.float32).astype(np.float64)
    mean, std, _ = feature_statistics(dm)
    np.testing.assert_allclose(mean, features.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(std, features.std(axis=0), rtol=1e-6)


def test_one_files_standardization_comes_from_its_training_rows_only(tmp_path):
    frame = make_frame(100)
    frame.loc[90:, ["f0", "f1", "f2"]] += 1000.0  # the test rows, in file order, far off
    dm = loaded(path=write_table(frame, tmp_path / "d.csv"), exclude_columns=["id"],
                val_fraction=0.1, test_fraction=0.1, ordered_split=True)  # fmt: skip
    features = frame.loc[:79, ["f0", "f1", "f2"]].to_numpy().astype(np.float32).astype(np.float64)
    mean, std, _ = feature_statistics(dm)
    np.testing.assert_allclose(mean, features.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(std, features.std(axis=0), rtol=1e-6)


def test_one_file_split_by_fractions_random_or_in_file_order(tmp_path):
    frame = make_frame(100)
    path = write_table(frame, tmp_path / "d.csv")
    ordered = loaded(
        path=path, exclude_columns=["id"], val_fraction=0.2, test_fraction=0.1, ordered_split=True
    )
    f0 = torch.tensor(frame["f0"].to_numpy(), dtype=torch.float32)
    assert torch.equal(ordered.splits["train"][0][:, 0], f0[:70])
    assert torch.equal(ordered.splits["val"][0][:, 0], f0[70:90])
    assert torch.equal(ordered.splits["test"][0][:, 0], f0[90:])
    shuffled = loaded(path=path, exclude_columns=["id"], val_fraction=0.2, test_fraction=0.1, seed=3)
    sizes = {split: len(t[0]) for split, t in shuffled.splits.items()}
    assert sizes == {"train": 70, "val": 20, "test": 10}
    rows = torch.cat([t[0][:, 0] for t in shuffled.splits.values()])
    assert torch.equal(rows.sort().values, f0.sort().values)  # a partition of the rows


def test_k_folds_cover_the_non_test_rows_once_and_keep_test_fixed(tmp_path):
    path = write_table(make_frame(n=60), tmp_path / "d.csv")
    modules = [
        loaded(path=path, exclude_columns=["id"], num_folds=3, fold=k, test_fraction=0.2) for k in range(3)
    ]
    rows = {
        name: [set(dm.splits[name][0][:, 0].tolist()) for dm in modules] for name in ("train", "val", "test")
    }
    assert rows["test"][0] == rows["test"][1] == rows["test"][2] and len(rows["test"][0]) == 12
    assert sum(len(v) for v in rows["val"]) == 48 and set().union(*rows["val"]).isdisjoint(rows["test"][0])
    for k in range(3):
        assert rows["train"][k] | rows["val"][k] == set().union(*rows["val"])
