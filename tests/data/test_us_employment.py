"""The shipped real dataset loads through `experiment=us_employment` as documented."""

import numpy as np  # part: windows
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


# part: windows
def test_the_windows_experiment_reads_the_same_series_and_test_months_as_windows():
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["experiment=us_employment_windows", f"data.path={REPO_ROOT}/data/us_employment.csv"],
        )
    dm = build(cfg.data)
    dm.setup("fit")
    raw = pd.read_csv(REPO_ROOT / "data" / "us_employment.csv")
    targets = [name for name in raw.columns if name.startswith("y_")]
    changes = raw[[f"x_{name.removeprefix('y_')}_lag0" for name in targets]].to_numpy(np.float32)
    # The flat table's lag columns hold the values a window reads from the rows before.
    lag1 = raw[[f"x_{name.removeprefix('y_')}_lag1" for name in targets]].to_numpy(np.float32)
    np.testing.assert_array_equal(lag1[1:], changes[:-1])
    assert dm.channel_names == targets and dm.window == 12
    x, y = dm.examples("test")
    # The last 88 months, as the flat experiment's test split; each window the 12 months to it.
    ends = range(len(raw) - 88, len(raw))
    np.testing.assert_array_equal(x.numpy(), np.stack([changes[end - 11 : end + 1] for end in ends]))
    assert y.tolist() == (raw[targets].iloc[-88:] + 1).to_numpy().tolist()  # -1/0/1 as class ids 0/1/2


# end part
