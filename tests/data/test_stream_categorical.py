"""Categorical features and gaps streamed from Parquet: the same tensors as data=tabular reads
from one file, vocabularies and medians against pandas, and a run from train to predict."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from multiout.data.stream.datamodule import StreamDataModule
from multiout.data.tables.datamodule import TabularDataModule
from multiout.data.tables.median_sample import MedianSample
from multiout.errors import InputError
from multiout.runtime.run import run_evaluate, run_predict, run_train
from tests.helpers import compose_task, feature_statistics

LAYOUT = ((23, 7), (1, 1), (40, 40), (36, 9))  # rows and row-group size of each file
LABELS = ["down", "flat", "up"]


def frame_with_categories(n: int = 100, seed: int = 0) -> pd.DataFrame:
    """A key, text, dictionary-encoded and boolean columns, numbers with gaps, text labels."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], size=n).astype(object)
    region[rng.random(n) < 0.15] = None
    income = rng.normal(size=n)
    income[rng.random(n) < 0.2] = np.nan
    frame = pd.DataFrame({
        "key": [f"k{seed}-{i}" for i in range(n)], "region": region,
        "shop": pd.Categorical(rng.choice(["b", "a", "c"], size=n), categories=["a", "b", "c"]),
        "open": rng.random(n) < 0.5, "income": income, "age": rng.integers(18, 90, size=n).astype(float),
    })  # fmt: skip
    score = np.select([region == "north", region == "south"], [1.0, -1.0], 0.0) + np.nan_to_num(income)
    for name, shift in [("y_a", 0.0), ("y_b", 0.5)]:
        frame[name] = np.array(LABELS, dtype=object)[np.digitize(score + shift, [-0.5, 0.5])]
    return frame


def write_parts(frame: pd.DataFrame, directory, layout=LAYOUT) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    start = 0
    for i, (rows, group) in enumerate(layout):
        part = pa.Table.from_pandas(frame.iloc[start : start + rows], preserve_index=False)
        pq.write_table(part, directory / f"part-{i}.parquet", row_group_size=group)
        start += rows
    return str(directory)


def streamed(path: str, **options) -> StreamDataModule:
    options = {"exclude_columns": ["key"], "label_values": LABELS, "batch_size": 16, "shuffle_window": 32,
               "cache_statistics": False, **options}  # fmt: skip
    return StreamDataModule(train_path=path, **options)


def all_rows(datamodule: StreamDataModule, split: str = "train") -> tuple[torch.Tensor, ...]:
    return tuple(torch.cat(parts) for parts in zip(*datamodule.batches(split, False), strict=True))


def test_streamed_batches_equal_the_tabular_modules_and_pandas(tmp_path):
    frame = frame_with_categories()
    path = write_parts(frame, tmp_path / "train")
    single = tmp_path / "all.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), single)
    stream = streamed(path)
    table = TabularDataModule(train_path=str(single), exclude_columns=["key"], label_values=LABELS)
    table.setup("fit")
    assert stream.feature_names == table.feature_names == ["region", "shop", "open", "income", "age"]
    # Independently, with pandas: sorted strings with the missing category last.
    assert stream.categorical_features == table.categorical_features == {
        "region": ["east", "north", "south", None], "shop": ["a", "b", "c"], "open": ["False", "True"],
    }  # fmt: skip
    assert stream.data_spec().input.imputed == table.data_spec().input.imputed == ["income"]
    x, y = all_rows(stream)
    torch.testing.assert_close(x, table.splits["train"][0], equal_nan=True, rtol=0, atol=0)
    assert torch.equal(y, table.splits["train"][1])
    mean, std, median = feature_statistics(stream)
    numeric = frame[["income", "age"]]
    np.testing.assert_allclose(median[3:].numpy(), numeric.median().to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(mean[3:].numpy(), numeric.mean().to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(std[3:].numpy(), numeric.std(ddof=0).to_numpy(), rtol=1e-5)
    assert (
        mean[:3].tolist() == [0, 0, 0] and std[:3].tolist() == [1, 1, 1] and median[:3].tolist() == [0, 0, 0]
    )
    for expected, got in zip(feature_statistics(table), (mean, std, median), strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_unseen_category_is_unknown_and_counted_in_one_line_per_split(tmp_path, caplog):
    train = frame_with_categories()
    val = frame_with_categories(30, seed=1)
    val.loc[[2, 17, 25], "region"] = "west"  # never seen in training, in two files
    stream = streamed(
        write_parts(train, tmp_path / "train"),
        val_path=write_parts(val, tmp_path / "val", ((20, 6), (10, 4))),
    )
    loader = stream.batches("val", False)
    with caplog.at_level(logging.WARNING):
        x = torch.cat([batch[0] for batch in loader])
        list(loader)  # a second epoch logs nothing more
    region = x[:, 0]
    assert torch.nonzero(region == 0).flatten().tolist() == [2, 17, 25]
    lines = [r.getMessage() for r in caplog.records if "not seen in training" in r.getMessage()]
    assert lines == ["data.val_path: 3 values of 'region' not seen in training -> unknown"]


def test_median_is_exact_up_to_the_sample_size_and_close_beyond_it():
    rng = np.random.default_rng(0)
    values = rng.lognormal(size=200_000).astype(np.float32)
    exact, sampled = MedianSample(1, size=values.size), MedianSample(1, size=4096)
    for block in np.array_split(values, 37):  # uneven row groups
        exact.add(0, block)
        sampled.add(0, block)
    assert exact.medians()[0] == pytest.approx(float(np.median(values)), rel=1e-7)
    rank = float((values < sampled.medians()[0]).mean())
    assert abs(rank - 0.5) < 2 / np.sqrt(4096)  # the documented tolerance: two standard errors
    assert len(sampled.kept[0]) == 4096


def test_statistics_cache_keeps_vocabularies_and_is_keyed_by_the_new_options(tmp_path, monkeypatch):
    path = write_parts(frame_with_categories(), tmp_path / "train")
    first = streamed(path, cache_statistics=True)
    vocabularies, statistics = first.categorical_features, feature_statistics(first)

    def no_pass(*args, **kwargs):
        raise AssertionError("read the files again")

    monkeypatch.setattr("multiout.data.stream.statistics.compute_statistics", no_pass)
    again = streamed(path, cache_statistics=True)
    assert again.categorical_features == vocabularies and again.data_spec().input.imputed == ["income"]
    for a, b in zip(feature_statistics(again), statistics, strict=True):
        assert torch.equal(a, b)
    with pytest.raises(AssertionError, match="read the files again"):
        feature_statistics(streamed(path, cache_statistics=True, max_categories=50))


def error_of(path: str, **options) -> str:
    with pytest.raises(InputError) as info:
        streamed(path, **options).data_spec()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_bad_categorical_and_missing_inputs_are_one_line_naming_the_column(tmp_path):
    frame = frame_with_categories()
    path = write_parts(frame, tmp_path / "train")
    assert "categorical column 'regoin' (from data.categorical_columns) is not in the file" in error_of(
        path, categorical_columns=["regoin"]
    )
    message = error_of(path, max_categories=3)
    assert "categorical column 'region' has 4 distinct values in the training split" in message
    assert "data.max_categories=3" in message
    message = error_of(path, missing_features="error", exclude_columns=["key", "income"])
    first = int(frame["region"].isna().to_numpy().argmax())  # in part-0, the first 23 rows
    assert (
        f"part-0.parquet: feature column 'region' has a missing, NaN or infinite value (first at row {first + 1})"
        in message
    )
    for column, empty in [("income", np.nan), ("region", None)]:
        gaps = frame.assign(**{column: pd.Series([empty] * len(frame), dtype=frame[column].dtype)})
        path = write_parts(gaps, tmp_path / f"gaps-{column}")
        assert f"feature column {column!r} has no values in the training split" in error_of(path)


@pytest.mark.slow
def test_train_evaluate_and_predict_stream_categories_in_the_users_labels(tmp_path):
    train = write_parts(frame_with_categories(300), tmp_path / "train", ((150, 50), (150, 64)))
    test = write_parts(frame_with_categories(60, seed=2), tmp_path / "test", ((60, 25),))
    new = frame_with_categories(40, seed=3).drop(columns=["y_a", "y_b"])
    new.loc[[1, 5], "region"] = "west"
    predict = write_parts(new, tmp_path / "new", ((25, 10), (15, 15)))
    data = ["data=stream", "data.label_values=[down,flat,up]", "data.id_column=key"]
    run_train(compose_task("train", *data, f"data.train_path={train}", f"data.val_path={test}",
                           f"data.test_path={test}", "trainer.max_epochs=1", "logger=none", "callbacks=default",
                           f"paths.output_dir={tmp_path / 'run'}"))  # fmt: skip
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    saved = torch.load(metrics["ckpt_path"], weights_only=True)["hyper_parameters"]
    assert saved["data"]["input"]["categorical"]["region"] == ["east", "north", "south", None]
    assert saved["data"]["input"]["imputed"] == ["income"]
    ckpt = f"ckpt_path={metrics['ckpt_path']}"
    run_evaluate(
        compose_task("evaluate", ckpt, f"data.test_path={test}", f"paths.output_dir={tmp_path / 'eval'}")
    )
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["test/acc"] == pytest.approx(metrics["test/acc"])
    shutil.move(train, tmp_path / "archived")  # prediction reads the predict files alone
    run_predict(
        compose_task("predict", ckpt, f"data.predict_path={predict}", f"paths.output_dir={tmp_path / 'pred'}")
    )
    predictions = pd.read_csv(tmp_path / "pred" / "predictions.csv")
    assert list(predictions["key"]) == list(new["key"])
    assert set(predictions[["y_a", "y_b"]].to_numpy().ravel()) <= set(LABELS)
