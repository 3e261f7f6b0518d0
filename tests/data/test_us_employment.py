"""The shipped real dataset loads through `experiment=us_employment` as documented."""

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from multiout.runtime.build import build
from tests.helpers import REPO_ROOT


def test_experiment_reads_47_series_in_time_order():
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train", overrides=["experiment=us_employment", f"data.path={REPO_ROOT}/data/us_employment.csv"]
        )
    dm = build(cfg.data)
    dm.setup("fit")
    raw = pd.read_csv(REPO_ROOT / "data" / "us_employment.csv")
    assert (len(dm.channel_names), dm.num_classes, len(dm.feature_names)) == (47, 3, 141)
    assert raw["month"].is_monotonic_increasing and raw["month"].iloc[0] == "1990-04"
    sizes = [len(dm.splits[s][0]) for s in ("train", "val", "test")]
    assert sum(sizes) == len(raw) and sizes == [212, 53, 88]
    # Time order: the test split is the last months of the file.
    assert dm.splits["test"][0][-1, 0].item() == pytest.approx(raw.iloc[-1, 1], abs=1e-6)
