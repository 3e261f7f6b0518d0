"""The baselines script reads its data as training does and scores every baseline."""

from __future__ import annotations

import re

import pytest
from baseline import (
    main,
    with_default_data,  # part: demos
)
from bench.startup import launch_train

from tests.helpers import REPO_ROOT


def accuracies(out: str) -> list[float]:
    return [float(a) for a in re.findall(r"accuracy (0\.\d+|1\.0+)", out)]


def test_baselines_score_the_configured_data(capsys):
    main(["data.num_samples=600", "data.num_channels=3", "data.num_features=8"])
    out = capsys.readouterr().out
    assert "rows: train 480, val 60, test 60; features: 8 numeric, 0 categorical" in out
    assert len(accuracies(out)) == 3 and all(0.2 < a < 1.0 for a in accuracies(out))


# part: demos
@pytest.mark.parametrize(
    ("overrides", "us_employment"),
    [([], True), (["seed=1"], True), (["experiment=nyc_flights"], False), (["data.num_samples=9"], False)],
)
def test_the_real_table_is_the_default_unless_the_data_is_chosen(overrides, us_employment):
    assert (with_default_data(overrides)[0] == "experiment=us_employment") is us_employment


# end part


@pytest.mark.slow
def test_the_startup_probe_reaches_a_real_training_run():
    result = launch_train(REPO_ROOT / "train.py", "debug=fdr", "data.num_samples=500", "logger=none")
    assert 0 < result["first_step_s"] < result["total_s"] and result["peak_rss_mib"] > 100
