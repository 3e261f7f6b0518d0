"""Categorical features: which columns, their vocabularies from the training split, their indices."""

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from multiout.data.tables.datamodule import TabularDataModule
from multiout.errors import InputError
from tests.data.tabular_files import loaded, make_frame, write_table
from tests.helpers import spec_dict


def frame_with_categories(n: int = 60, seed: int = 0) -> pd.DataFrame:
    frame = make_frame(n, seed)
    rng = np.random.default_rng(seed)
    frame["region"] = rng.choice(["south", "north", "east"], size=n).astype(object)
    frame.loc[rng.random(n) < 0.2, "region"] = None
    frame["flag"] = rng.random(n) < 0.5
    frame["store"] = rng.integers(1, 5, size=n)  # integer codes: numbers unless listed
    return frame


def expected_indices(values: pd.Series, vocab: list) -> torch.Tensor:
    """Index + 1 in `vocab` by a dict lookup, missing -> the None entry, unseen -> 0."""
    lookup = {v: i + 1 for i, v in enumerate(vocab)}
    keys = [None if pd.isna(v) else str(v) for v in values]
    return torch.tensor([float(lookup.get(k, 0)) for k in keys])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_auto_takes_text_and_boolean_columns_with_sorted_training_vocabularies(tmp_path, suffix):
    frame = frame_with_categories()
    path = write_table(frame, tmp_path / f"d{suffix}")
    dm = loaded(train_path=path, val_path=path, test_path=path, exclude_columns=["id"])
    assert list(dm.categorical_features) == ["region", "flag"]  # not the integer codes
    assert dm.categorical_features == {"region": ["east", "north", "south", None], "flag": ["False", "True"]}
    x = dm.splits["train"][0]
    names = dm.feature_names
    for name, vocab in dm.categorical_features.items():
        assert torch.equal(x[:, names.index(name)], expected_indices(frame[name], vocab))
    torch.testing.assert_close(x[:, names.index("store")], torch.tensor(frame["store"].to_numpy()).float())


def test_listed_integer_codes_and_parquet_dictionary_columns_are_categories(tmp_path):
    frame = frame_with_categories()
    frame["region"] = frame["region"].astype("category")  # a dictionary-encoded Parquet column
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    assert pa.types.is_dictionary(pq.read_schema(path).field("region").type)
    dm = loaded(path=str(path), exclude_columns=["id"], categorical_columns=["store", "region"])
    assert list(dm.categorical_features) == ["region", "store"]  # file order
    assert dm.categorical_features["store"] == sorted(str(v) for v in frame["store"].unique())


def test_unseen_category_is_unknown_and_counted_in_one_line_per_split(tmp_path, caplog):
    train, val = frame_with_categories(60, 0), frame_with_categories(30, 1)
    val.loc[[2, 5, 7], "region"] = "west"
    val["flag"] = val["flag"].astype(object)
    val.loc[[4], "flag"] = None  # missing, which training never saw here
    paths = {s: write_table(f, tmp_path / f"{s}.csv") for s, f in [("train", train), ("val", val)]}
    with caplog.at_level(logging.WARNING):
        dm = loaded(train_path=paths["train"], val_path=paths["val"], exclude_columns=["id"])
    x = dm.splits["val"][0]
    region = dm.feature_names.index("region")
    assert torch.equal(x[:, region], expected_indices(val["region"], dm.categorical_features["region"]))
    assert x[[2, 5, 7], region].tolist() == [0.0, 0.0, 0.0]
    lines = [r.getMessage() for r in caplog.records if "not seen in training" in r.getMessage()]
    assert lines == ["val: 3 values of 'region', 1 value of 'flag' not seen in training -> unknown"]


def test_vocabularies_from_a_checkpoint_are_used_as_given(tmp_path):
    frame = frame_with_categories()
    vocab = {"region": ["north", "east", None], "flag": ["True", "False"]}  # not the file's
    features = [name for name in frame.columns if name != "id" and not name.startswith("y_")]
    spec = spec_dict(feature_names=features, categorical=vocab)
    dm = TabularDataModule(predict_path=write_table(frame, tmp_path / "p.csv"), spec=spec)
    dm.setup("predict")
    (x,) = dm.splits["predict"]
    for name, values in vocab.items():
        assert torch.equal(x[:, dm.feature_names.index(name)], expected_indices(frame[name], values))


def error_of(**kwargs) -> str:
    with pytest.raises(InputError) as info:
        loaded(**kwargs).data_spec()
    return str(info.value)


def test_listed_categorical_column_must_be_a_feature_in_the_file(tmp_path):
    path = write_table(frame_with_categories(), tmp_path / "d.csv")
    message = error_of(path=path, exclude_columns=["id"], categorical_columns=["regoin"])
    assert "d.csv: categorical column 'regoin' (from data.categorical_columns)" in message
    assert "'region'" in message  # a close match
    message = error_of(path=path, exclude_columns=["id"], categorical_columns=["y_a"])
    assert "data.categorical_columns lists ['y_a'], which are not feature columns" in message


def test_too_many_categories_suggests_an_id_column(tmp_path):
    frame = frame_with_categories()
    frame["customer"] = [f"c{i}" for i in range(len(frame))]
    path = write_table(frame, tmp_path / "d.csv")
    message = error_of(path=path, exclude_columns=["id"], max_categories=20)
    assert "categorical column 'customer' has 48 distinct values in the training split" in message
    assert "data.max_categories=20" in message and "looks like an id column" in message


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_all_missing_categorical_column_is_an_error(tmp_path, suffix):
    frame = frame_with_categories()
    frame["region"] = pd.Series([None] * len(frame), dtype=object)
    path = write_table(frame, tmp_path / f"d{suffix}")
    message = error_of(path=path, exclude_columns=["id"], categorical_columns=["region", "flag"])
    assert "feature column 'region' has no values in the training split" in message
