"""data=windows against a hand-written loop over the sorted table: every window's features and
labels, split boundaries, series, time sorting, prediction rows and the one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from multiout.data.windows.datamodule import WindowsDataModule
from multiout.errors import InputError
from tests.data.tabular_files import make_frame, write_table
from tests.helpers import feature_statistics, quiet_trainer

LABELS = {-1.0: 0, 0.0: 1, 1.0: 2}


def series_frame(lengths=(40, 31, 25), seed: int = 0) -> pd.DataFrame:
    """Several series (`g`) of rows with a time `t`, shuffled so the file is in no order."""
    parts = []
    for number, n in enumerate(lengths):
        part = make_frame(n, seed=seed + number)
        part["id"] = [f"s{number}-{i}" for i in range(n)]
        part["g"] = f"store{number}"
        part["t"] = np.arange(n) * 10 + number
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame.loc[3, "f1"] = np.nan
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def expected_windows(frame: pd.DataFrame, window: int, val: float, test: float) -> dict[str, list]:
    """(x [L, F], class ids [C], id) of every window per split, by a plain loop per series."""
    out: dict[str, list] = {"train": [], "val": [], "test": []}
    for _, rows in frame.sort_values(["g", "t"], kind="stable").groupby("g", sort=True):
        n = len(rows)
        n_val, n_test = round(n * val), round(n * test)
        n_train = n - n_val - n_test
        features = rows[["f0", "f1", "f2"]].to_numpy(np.float32)
        targets = rows[["y_a", "y_b"]].to_numpy()
        for end in range(window - 1, n):
            split = "train" if end < n_train else "val" if end < n_train + n_val else "test"
            labels = [LABELS.get(v, -100) for v in targets[end]]
            out[split].append((features[end - window + 1 : end + 1], labels, rows["id"].iloc[end]))
    return out


def gathered(datamodule: WindowsDataModule, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every batch of the split's unshuffled loader, joined."""
    loader = {"train": datamodule._loader("train", shuffle=False), "val": datamodule.val_dataloader()}.get(
        split, datamodule.test_dataloader()
    )
    batches = list(loader)
    return torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])


def module(path: str, **options) -> WindowsDataModule:
    settings = {"window": 5, "time_column": "t", "group_column": "g", "id_column": "id", "batch_size": 7}
    datamodule = WindowsDataModule(path=path, **{**settings, **options})
    datamodule.setup("fit")
    return datamodule


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_every_window_of_every_split_matches_a_loop_over_each_sorted_series(tmp_path, suffix):
    frame = series_frame()
    datamodule = module(write_table(frame, tmp_path / f"d.{suffix}"), val_fraction=0.2, test_fraction=0.2)
    expected = expected_windows(frame, 5, 0.2, 0.2)
    for split in ("train", "val", "test"):
        x, y = gathered(datamodule, split)
        assert x.shape == (len(expected[split]), 5, 3)
        np.testing.assert_array_equal(x.numpy(), np.stack([e[0] for e in expected[split]]))
        assert y.tolist() == [e[1] for e in expected[split]]
    # Every row with a full window is the target of exactly one split; the first 4 of each series of none.
    assert sum(len(v) for v in expected.values()) == len(frame) - 3 * 4


def test_windows_are_gathered_from_one_resident_table(tmp_path):
    datamodule = module(write_table(series_frame(), tmp_path / "d.csv"))
    tables = {id(datamodule.splits[split][0]) for split in ("train", "val", "test")}
    assert len(tables) == 1  # one [N, F] tensor behind every split's windows
    features, ends, _ = datamodule.splits["train"]
    assert features.shape == (96, 3) and ends.dtype == torch.long


# The long series: more training windows than one block of label counting (8192).
@pytest.mark.parametrize("lengths", [(40, 31, 25), (9000, 7000, 5000)])
def test_statistics_and_label_counts_come_from_the_training_rows_only(tmp_path, lengths):
    frame = series_frame(lengths)
    datamodule = module(write_table(frame, tmp_path / "d.csv"), val_fraction=0.2, test_fraction=0.2)
    train_rows = []
    for _, rows in frame.sort_values(["g", "t"], kind="stable").groupby("g"):
        n = len(rows)
        train_rows.append(rows.iloc[: n - round(n * 0.2) * 2])
    train = pd.concat(train_rows)
    mean = feature_statistics(datamodule)[0]
    np.testing.assert_allclose(mean.numpy(), train[["f0", "f1", "f2"]].mean().to_numpy(), rtol=1e-5)
    spec = datamodule.data_spec()
    assert spec.input.shape == [5, 3] and spec.input.imputed == ["f1"]
    targets = np.array([e[1] for e in expected_windows(frame, 5, 0.2, 0.2)["train"]])
    counts = [[int((targets[:, c] == k).sum()) for k in range(3)] for c in range(2)]
    assert spec.output.label_counts == counts


def test_without_a_time_column_file_order_is_kept_within_each_series(tmp_path):
    frame = series_frame().sort_values(["g", "t"], kind="stable")
    datamodule = module(write_table(frame, tmp_path / "d.csv"), time_column=None, exclude_columns=["t"])
    x, _ = gathered(datamodule, "test")
    expected = expected_windows(frame, 5, 0.1, 0.1)["test"]
    np.testing.assert_array_equal(x.numpy(), np.stack([e[0] for e in expected]))


def test_one_file_per_split_keeps_each_file_a_series_of_its_own(tmp_path):
    frame = make_frame(30)
    paths = {f"{s}_path": write_table(frame.iloc[a:b], tmp_path / f"{s}.csv")
             for s, a, b in (("train", 0, 20), ("val", 20, 25), ("test", 25, 30))}  # fmt: skip
    datamodule = WindowsDataModule(window=3, id_column="id", **paths)
    datamodule.setup("fit")
    x, _ = gathered(datamodule, "val")
    np.testing.assert_array_equal(x[0].numpy(), frame[["f0", "f1", "f2"]].iloc[20:23].to_numpy(np.float32))
    assert len(x) == 3  # 5 rows, the first two are context only


def test_predict_gives_one_row_per_window_end_with_its_id(tmp_path, caplog):
    frame = series_frame().drop(columns=["y_a", "y_b"])
    datamodule = WindowsDataModule(
        window=5, predict_path=write_table(frame, tmp_path / "p.csv"), time_column="t", group_column="g",
        id_column="id", spec=module(write_table(series_frame(), tmp_path / "d.csv")).data_spec().to_dict(),
    )  # fmt: skip
    with caplog.at_level("INFO"):
        datamodule.setup("predict")
    ids = datamodule.predict_ids.to_pylist()
    expected = [e[2] for split in expected_windows(series_frame(), 5, 0.1, 0.1).values() for e in split]
    assert sorted(ids) == sorted(expected) and len(ids) == len(frame) - 12
    assert "12 of 96 rows" in caplog.text and "no prediction" in caplog.text
    (x,) = next(iter(datamodule.predict_dataloader()))
    assert x.shape[1:] == (5, 3)


def test_a_predict_series_shorter_than_the_window_gets_no_rows_and_none_at_all_stops(tmp_path):
    spec = module(write_table(series_frame(), tmp_path / "d.csv")).data_spec().to_dict()
    frame = series_frame(lengths=(9, 3)).drop(columns=["y_a", "y_b"])
    options = {"window": 5, "time_column": "t", "group_column": "g", "id_column": "id", "spec": spec}
    datamodule = WindowsDataModule(predict_path=write_table(frame, tmp_path / "p.csv"), **options)
    datamodule.setup("predict")
    assert sorted(datamodule.predict_ids.to_pylist()) == [f"s0-{i}" for i in range(4, 9)]
    short = write_table(frame[frame["g"] == "store1"], tmp_path / "short.csv")
    with pytest.raises(InputError, match=r"short.csv: no series has data.window=5 rows"):
        WindowsDataModule(predict_path=short, **options).setup("predict")


def test_categories_take_the_training_rows_vocabulary(tmp_path):
    frame = make_frame(30)
    frame["kind"] = ["a"] * 20 + ["b"] * 5 + ["c"] * 5  # "c" only in the test block
    datamodule = module(write_table(frame, tmp_path / "d.csv"), time_column=None, group_column=None,
                        val_fraction=1 / 6, test_fraction=1 / 6, window=2)  # fmt: skip
    assert datamodule.data_spec().input.categorical == {"kind": ["a"]}
    x, _ = gathered(datamodule, "test")
    assert x[:, -1, 3].tolist() == [0] * 5  # unseen in training -> unknown


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window": 0}, "data.window must be a positive number of rows, got 0"),
        ({"window": 40}, "data.window=40 is longer than the train split of series"),
    ],
)
def test_bad_windows_stop_with_one_line(tmp_path, options, message):
    with pytest.raises(InputError, match=message):
        module(write_table(series_frame(), tmp_path / "d.csv"), **options)


def test_a_series_key_with_a_gap_names_the_file_column_and_row(tmp_path):
    frame = series_frame()
    frame.loc[6, "g"] = None
    with pytest.raises(
        InputError, match=r"d.csv: data.group_column 'g' has a missing value \(first at row 7\)"
    ):
        module(write_table(frame, tmp_path / "d.csv"))


def test_a_split_file_shorter_than_the_window_is_named(tmp_path):
    frame = make_frame(30)
    paths = {f"{s}_path": write_table(frame.iloc[a:b], tmp_path / f"{s}.csv")
             for s, a, b in (("train", 0, 20), ("val", 20, 22), ("test", 22, 30))}  # fmt: skip
    with pytest.raises(InputError, match=r"val.csv: data.window=3 is longer than the file's series"):
        WindowsDataModule(window=3, id_column="id", **paths).setup("fit")


def test_a_checkpoint_window_other_than_the_data_window_is_refused(tmp_path):
    spec = module(write_table(series_frame(), tmp_path / "d.csv")).data_spec().to_dict()
    with pytest.raises(
        InputError, match=r"data.window=6, but the checkpoint's model was trained on windows of 5"
    ):
        WindowsDataModule(window=6, path=str(tmp_path / "d.csv"), spec=spec)


def test_the_device_resident_path_serves_the_same_windows_and_counts_the_table_once(tmp_path, caplog):
    path = write_table(series_frame(), tmp_path / "d.csv")
    host = module(path)
    x, _, y = host.splits["train"]
    once = x.nbytes + y.nbytes + sum(host.splits[s][1].nbytes for s in ("train", "val", "test"))
    # Room for the table once, not for a copy per split.
    resident = module(path, device_resident_max_gb=1.3 * once / 2**30, device_resident_on_cpu=True)
    resident.trainer = quiet_trainer(tmp_path, accelerator="cpu")
    with caplog.at_level("INFO"):
        for split in ("train", "val", "test"):
            for a, b in zip(gathered(host, split), gathered(resident, split), strict=True):
                torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)
    assert set(resident.resident) == {"train", "val", "test"}  # the shared table fits once, not three times
    assert "stays on the host" not in caplog.text


def test_examples_give_every_window_of_a_split_at_once_for_the_baselines(tmp_path):
    frame = series_frame()
    datamodule = module(write_table(frame, tmp_path / "d.csv"))
    x, y = datamodule.examples("val")
    expected = expected_windows(frame, 5, 0.1, 0.1)["val"]
    np.testing.assert_array_equal(x.numpy(), np.stack([e[0] for e in expected]))
    assert y.tolist() == [e[1] for e in expected]


def test_a_resumed_epoch_serves_the_windows_the_interrupted_one_had_left(tmp_path):
    path = write_table(series_frame(), tmp_path / "d.csv")
    first = module(path)
    epoch = list(first.train_dataloader())
    assert len(epoch) > 4
    first = module(path)
    loader = iter(first.train_dataloader())
    for _ in range(3):
        next(loader)
    state = first.state_dict()
    resumed = module(path)
    resumed.load_state_dict(state)
    rest = list(resumed.train_dataloader())
    assert len(rest) == len(epoch) - 3
    for done, again in zip(epoch[3:], rest, strict=True):
        torch.testing.assert_close(done, again, rtol=0, atol=0, equal_nan=True)


def test_two_processes_share_every_window_exactly_once(tmp_path):
    from multiout.data.batching import batch_loader

    datamodule = module(write_table(series_frame(), tmp_path / "d.csv"), batch_size=4)
    dataset = datamodule._dataset(datamodule.splits["test"])
    seen = [y for rank in (0, 1) for _, y in batch_loader(dataset, 4, shuffle=False, rank=rank, world_size=2)]
    expected = [e[1] for e in expected_windows(series_frame(), 5, 0.1, 0.1)["test"]]
    assert sorted(torch.cat(seen).tolist()) == sorted(expected) and len(torch.cat(seen)) == len(expected)
