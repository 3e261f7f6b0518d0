"""The streaming data module against pandas reading the same files: every row once per epoch
across processes, exact resume, statistics, predict ids in input order."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pyarrow as pa
import pytest
import torch

from multiout.data.batching import ShardedBatchSampler
from multiout.data.stream import statistics as stream_statistics
from multiout.data.stream.datamodule import StreamDataModule
from multiout.data.stream.rows import rank_batches
from multiout.data.tables.labels import BadLabels, LabelMapping
from multiout.runtime.run import run_train
from tests.data.stream_files import class_ids, write_dataset
from tests.helpers import (
    compose_train,
    feature_statistics,
    quiet_trainer,
    small_classifier,
    train_label_counts,
)

FEATURES = ["row", "f1", "f2"]


def streamed(tmp_path, **options) -> StreamDataModule:
    options = {"exclude_columns": ["key"], "batch_size": 8, "shuffle_window": 20, **options}
    return StreamDataModule(train_path=str(tmp_path / "train"), **options)


def epoch(
    datamodule: StreamDataModule, shuffle: bool, world_size: int, number: int = 0, split: str = "train"
):
    """Each process's batches of one epoch: the loader built for each rank in turn."""
    per_rank = []
    for rank in range(world_size):
        loader = datamodule.batches(split, shuffle, rank, world_size)
        loader.sampler.set_epoch(number)
        per_rank.append(list(loader))
    return per_rank


def test_rank_batches_cut_rows_as_the_in_memory_sampler_cuts_its_indices():
    for num_rows, batch_size, world_size in [(110, 8, 1), (110, 8, 3), (7, 8, 2), (64, 8, 2), (5, 1, 5)]:
        cut = [rank_batches(num_rows, batch_size, world_size, rank) for rank in range(world_size)]
        memory = ShardedBatchSampler(num_rows, batch_size, shuffle=False, world_size=world_size)
        sizes = [len(chunk) for rank in range(world_size) for chunk in _chunks(memory, rank)]
        assert sorted(s for _, per_rank in cut for s in per_rank) == sorted(sizes)
        assert {len(per_rank) for _, per_rank in cut} == {len(memory)}
        # Consecutive ranges, together every row once.
        bounds = [(first, first + sum(per_rank)) for first, per_rank in cut]
        assert bounds[0][0] == 0 and bounds[-1][1] == num_rows
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))


def _chunks(sampler: ShardedBatchSampler, rank: int) -> list:
    sampler.rank = rank
    return list(sampler)


@pytest.mark.parametrize("world_size", [1, 2, 3])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_row_is_read_once_per_epoch_across_processes(tmp_path, shuffle, world_size):
    frame = write_dataset(tmp_path / "train")
    per_rank = epoch(streamed(tmp_path), shuffle, world_size, number=1)
    assert len({len(batches) for batches in per_rank}) == 1  # DDP: the same number of steps everywhere
    batches = [batch for rank in per_rank for batch in rank]
    assert max(len(x) for x, _ in batches) <= 8
    x = torch.cat([x for x, _ in batches]).numpy()
    y = torch.cat([y for _, y in batches]).numpy()
    rows = x[:, 0].astype(int)
    assert sorted(rows) == list(range(len(frame)))
    np.testing.assert_array_equal(x, frame[FEATURES].to_numpy(np.float32)[rows])
    np.testing.assert_array_equal(y, class_ids(frame)[rows])
    if not shuffle:  # file order, process after process
        assert rows.tolist() == list(range(len(frame)))


def test_training_order_is_shuffled_per_epoch_and_the_same_in_every_run(tmp_path):
    write_dataset(tmp_path / "train")

    def order(number: int, seed: int = 0) -> list[int]:
        (batches,) = epoch(streamed(tmp_path, shuffle_seed=seed), True, 1, number)
        return torch.cat([x[:, 0] for x, _ in batches]).long().tolist()

    assert order(1) == order(1)
    assert order(1) != order(2) and order(1) != order(1, seed=5)
    assert order(1) != sorted(order(1))


def test_each_epoch_shuffles_the_rows_within_each_window_anew(tmp_path):
    # One row group: every epoch reads the rows in file order, so each window (16 rows: two
    # batches of 8) holds the same rows each epoch, and only the shuffle inside it can differ.
    write_dataset(tmp_path / "train", layout=((40, 40),))
    windows = []
    for number in range(3):
        (batches,) = epoch(streamed(tmp_path, shuffle_window=16), True, 1, number)
        rows = torch.cat([x[:, 0] for x, _ in batches]).long().tolist()
        windows.append([rows[:16], rows[16:32], rows[32:]])
    for per_epoch in windows:
        assert [sorted(w) for w in per_epoch] == [list(range(16)), list(range(16, 32)), list(range(32, 40))]
    for a, b in itertools.combinations(windows, 2):
        assert all(wa != wb for wa, wb in zip(a, b, strict=True))  # every window in another order


@pytest.mark.parametrize("world_size", [1, 2])
def test_a_run_resumed_mid_epoch_continues_with_the_next_batch(tmp_path, world_size):
    write_dataset(tmp_path / "train")
    for rank in range(world_size):
        full = epoch(streamed(tmp_path), True, world_size, number=2)[rank]
        stopped = streamed(tmp_path).batches("train", True, rank, world_size)
        stopped.sampler.set_epoch(2)
        batches = iter(stopped)
        seen = [next(batches) for _ in range(3)]  # 2 batches a window: stopped inside the second
        state = stopped.sampler.state_dict()
        loader = streamed(tmp_path).batches("train", True, rank, world_size)
        loader.sampler.load_state_dict(state)
        loader.sampler.set_epoch(2)
        rest = list(loader)
        assert len(seen) + len(rest) == len(full)
        for (xa, ya), (xb, yb) in zip(seen + rest, full, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_the_data_module_state_carries_the_position_into_the_next_loader(tmp_path):
    write_dataset(tmp_path / "train")
    first = streamed(tmp_path)
    loader = first.train_dataloader()
    loader.sampler.set_epoch(1)
    batches = iter(loader)
    seen = [next(batches) for _ in range(5)]
    resumed = streamed(tmp_path)
    resumed.load_state_dict(first.state_dict())  # as Lightning restores it from a checkpoint
    rest_loader = resumed.train_dataloader()
    rest_loader.sampler.set_epoch(1)
    rest = list(rest_loader)
    (full,) = epoch(streamed(tmp_path), True, 1, number=1)
    assert [x[:, 0].tolist() for x, _ in seen + rest] == [x[:, 0].tolist() for x, _ in full]


def test_statistics_equal_pandas_and_come_from_the_cache_on_the_next_run(tmp_path, monkeypatch):
    frame = write_dataset(tmp_path / "train")
    mean, std, _ = feature_statistics(streamed(tmp_path))
    np.testing.assert_allclose(mean.numpy(), frame[FEATURES].mean().to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(std.numpy(), frame[FEATURES].std(ddof=0).to_numpy(), rtol=1e-6)
    counts = train_label_counts(streamed(tmp_path))
    ids = class_ids(frame)
    expected = [[int((ids[:, c] == k).sum()) for k in range(3)] for c in range(3)]
    assert counts.tolist() == expected
    assert len(list((tmp_path / "train").glob(".multiout-statistics-*.json"))) == 1

    def no_pass(*args, **kwargs):
        raise AssertionError("read the files again")

    monkeypatch.setattr("multiout.data.stream.statistics.compute_statistics", no_pass)
    cached_mean, *_ = feature_statistics(streamed(tmp_path))
    assert torch.equal(cached_mean, mean)
    # A changed file is a new key: the pass runs again.
    write_dataset(tmp_path / "train", seed=1)
    with pytest.raises(AssertionError, match="read the files again"):
        feature_statistics(streamed(tmp_path))


@pytest.mark.parametrize("world_size", [1, 2])
def test_predicted_batches_carry_their_ids_in_input_order(tmp_path, world_size):
    frame = write_dataset(tmp_path / "new")
    datamodule = StreamDataModule(
        predict_path=str(tmp_path / "new" / "part-*.parquet"), target_columns=["y_a", "y_b", "y_c"],
        feature_columns=FEATURES, id_column="key", batch_size=8,
    )  # fmt: skip
    per_rank = epoch(datamodule, False, world_size, split="predict")
    ids = [key for rank in per_rank for _, keys in rank for key in keys.to_pylist()]
    rows = torch.cat([x[:, 0] for rank in per_rank for x, _ in rank]).long().tolist()
    assert ids == frame["key"].tolist()
    assert rows == list(range(len(frame)))


def test_numeric_labels_convert_as_a_cell_by_cell_loop_converts_them():
    rng = np.random.default_rng(3)
    n = 500
    table = pa.table({
        "floats": pa.array(rng.choice([-1.0, 0.0, 1.0, np.nan, 2.0, 0.5], size=n)),
        "ints": pa.array(rng.choice([-1, 0, 1, 7], size=n), mask=rng.random(n) < 0.1),
        "int8": pa.array(rng.integers(-1, 2, size=n).astype(np.int8)),
        "text": pa.array(rng.choice(["-1", "0", "1"], size=n)),  # read as text: the Arrow path
    })  # fmt: skip
    names = table.column_names
    bad = BadLabels()
    got = np.empty((n, 4), dtype=np.int64)
    LabelMapping(names, [[-1, 0, 1]] * 3 + [["-1", "0", "1"]], -100).write(table, got, ("f", 10), bad)
    expected = np.full((n, 4), -100)
    unknown: dict[str, int] = {}
    for c, name in enumerate(names):  # by hand
        labels = [-1, 0, 1] if name != "text" else ["-1", "0", "1"]
        for row, value in enumerate(table.column(name).to_pylist()):
            if value is None or value != value:
                continue
            if value in labels:
                expected[row, c] = labels.index(value)
            else:
                unknown[name] = unknown.get(name, 0) + 1
    np.testing.assert_array_equal(got, expected)
    assert {name: count for name, (_, _, count) in bad.found.items()} == unknown
    assert set(unknown) == {"floats", "ints"}


def test_the_config_builds_the_module_and_a_run_trains_and_tests_on_it(tmp_path):
    write_dataset(tmp_path / "data")
    files = [f"data.{split}_path={tmp_path / 'data'}" for split in ("train", "val", "test")]
    overrides = ["data=stream", *files, "data.exclude_columns=[key]", "debug=fdr", "logger=none"]
    run_train(compose_train(*overrides, "callbacks=none", output_dir=tmp_path / "run"))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert len(metrics["test/acc_per_channel"]) == 3  # y_a, y_b, y_c


def test_statistics_without_the_cache_leave_the_data_directory_as_it_was(tmp_path):
    frame = write_dataset(tmp_path / "train")
    mean, *_ = feature_statistics(streamed(tmp_path, cache_statistics=False))
    np.testing.assert_allclose(mean.numpy(), frame[FEATURES].mean().to_numpy(), rtol=1e-6)
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == [f"part-{i}.parquet" for i in range(5)]


def test_prepare_data_makes_the_one_pass_that_setup_on_every_other_process_reads(tmp_path, monkeypatch):
    frame = write_dataset(tmp_path / "train")
    passes = []
    compute = stream_statistics.compute_statistics

    def counted(*args, **kwargs):
        passes.append(1)
        return compute(*args, **kwargs)

    monkeypatch.setattr("multiout.data.stream.statistics.compute_statistics", counted)
    streamed(tmp_path).prepare_data()  # Lightning: one process per node
    assert len(passes) == 1
    assert len(list((tmp_path / "train").glob(".multiout-statistics-*.json"))) == 1
    other = streamed(tmp_path)  # another process: its own module
    other.setup("fit")
    assert len(passes) == 1
    mean, *_ = feature_statistics(other)
    np.testing.assert_allclose(mean.numpy(), frame[FEATURES].mean().to_numpy(), rtol=1e-6)
    assert len(passes) == 1

    # Where the cache cannot be written (beside the files, nor in the local cache dir), each
    # process's setup makes the pass itself.
    def refused(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr("multiout.data.stream.statistics.write_json_atomic", refused)
    write_dataset(tmp_path / "train", seed=1)
    streamed(tmp_path).prepare_data()
    unwritable = streamed(tmp_path)
    unwritable.setup("fit")
    assert len(passes) == 3
    feature_statistics(unwritable)
    assert len(passes) == 3


def test_validating_or_testing_makes_no_statistics_pass(tmp_path, monkeypatch):
    write_dataset(tmp_path / "train")
    passes = []
    monkeypatch.setattr(
        "multiout.data.stream.statistics.compute_statistics", lambda *a, **k: passes.append(1)
    )
    datamodule = streamed(tmp_path, val_path=str(tmp_path / "train"), test_path=str(tmp_path / "train"))
    trainer = quiet_trainer(tmp_path, limit_val_batches=2, limit_test_batches=2)
    model = small_classifier(num_features=len(FEATURES), num_channels=3)
    trainer.validate(model, datamodule=datamodule, verbose=False)
    trainer.test(model, datamodule=datamodule, verbose=False)
    assert passes == []
