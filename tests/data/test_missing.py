"""Missing feature values: the training split's medians and gaps, against pandas."""

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from multiout.errors import InputError
from multiout.models.classifier import MultiOutputClassifier
from tests.data.tabular_files import loaded, make_frame, write_table
from tests.helpers import feature_statistics

FEATURES = ["f0", "f1", "f2"]


def frame_with_gaps(n: int = 100) -> pd.DataFrame:
    frame = make_frame(n)
    rng = np.random.default_rng(5)
    frame.loc[rng.random(n) < 0.25, "f0"] = np.nan
    frame.loc[rng.random(n) < 0.1, "f2"] = np.nan
    frame.loc[90:, "f1"] = np.nan  # gaps in the test rows only: no indicator
    return frame


def ordered(path: str, **kwargs):
    """Train = the first 80 rows in file order, so pandas can take the same rows."""
    return loaded(path=path, exclude_columns=["id"], ordered_split=True, val_fraction=0.1,
                  test_fraction=0.1, **kwargs)  # fmt: skip


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_statistics_are_pandas_median_mean_and_std_of_the_training_rows(tmp_path, suffix):
    frame = frame_with_gaps()
    dm = ordered(write_table(frame, tmp_path / f"d{suffix}"))
    train = frame.loc[:79, FEATURES].astype(np.float32).astype(np.float64)
    mean, std, median = feature_statistics(dm)
    np.testing.assert_allclose(median, train.median(), rtol=1e-6)
    np.testing.assert_allclose(mean, train.mean(), rtol=1e-6)
    np.testing.assert_allclose(std, train.std(ddof=0), rtol=1e-6)
    assert dm.splits["train"][0][:, 0].isnan().sum() == frame.loc[:79, "f0"].isna().sum() > 0


def test_columns_with_gaps_in_training_get_indicators_and_one_log_line(tmp_path, caplog):
    frame = frame_with_gaps()
    dm = ordered(write_table(frame, tmp_path / "d.csv"))
    with caplog.at_level(logging.INFO):
        assert dm.data_spec().input.imputed == ["f0", "f2"]
    shares = frame.loc[:79, ["f0", "f2"]].isna().mean()
    lines = [r.getMessage() for r in caplog.records if "missing feature values" in r.getMessage()]
    assert len(lines) == 1
    assert f"'f0' {shares['f0']:.1%}, 'f2' {shares['f2']:.1%} (" in lines[0]


def test_the_model_imputes_the_training_median_and_flags_the_gap(tmp_path):
    frame = frame_with_gaps()
    dm = ordered(write_table(frame, tmp_path / "d.csv"))
    model = MultiOutputClassifier(
        dm.data_spec().to_dict(),
        net={"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [8]},
        optimizer={"_target_": "torch.optim.AdamW"},
    )
    model.eval()
    x = torch.tensor(frame[FEATURES].to_numpy(), dtype=torch.float32)  # every row, gaps included
    medians = frame.loc[:79, FEATURES].astype(np.float32).median()
    filled = torch.tensor(frame[FEATURES].fillna(medians).to_numpy(), dtype=torch.float32)
    mean, std = model.encoder.mean, model.encoder.std
    by_hand = torch.cat([(filled - mean) / std, x[:, [0, 2]].isnan().float()], 1)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.head(model.trunk(by_hand)).view(-1, 3, 2))


def error_of(**kwargs) -> str:
    with pytest.raises(InputError) as info:
        ordered(**kwargs).data_spec()
    return str(info.value)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_missing_features_error_names_file_column_and_first_row(tmp_path, suffix):
    frame = make_frame()
    frame.loc[[6, 9], "f1"] = np.nan
    path = write_table(frame, tmp_path / f"d{suffix}")
    message = error_of(path=path, missing_features="error")
    assert f"d{suffix}: feature column 'f1' has a missing" in message and "first at row 7" in message
    assert "data.missing_features=impute" in message


def test_an_all_missing_numeric_column_is_an_error(tmp_path):
    frame = make_frame()
    frame["f1"] = np.nan
    message = error_of(path=write_table(frame, tmp_path / "d.csv"))
    assert "d.csv: feature column 'f1' has no values in the training split" in message
    assert "data.exclude_columns=[f1]" in message


def test_missing_features_must_be_impute_or_error(tmp_path):
    path = write_table(make_frame(), tmp_path / "d.csv")
    assert "data.missing_features must be one of ['impute', 'error']" in error_of(
        path=path, missing_features="drop"
    )
