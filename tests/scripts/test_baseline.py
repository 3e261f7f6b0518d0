"""The baselines script reads its data as training does and scores both baselines."""

from __future__ import annotations

import re

import pytest
from baseline import main
from bench.startup import launch_train

from tests.helpers import REPO_ROOT


def test_baselines_score_the_configured_data(capsys):
    main(["data.num_samples=600", "data.num_channels=4"])
    out = capsys.readouterr().out
    assert "rows: train 480, val 60, test 60" in out
    accuracies = [float(a) for a in re.findall(r"accuracy (0\.\d+)", out)]
    assert len(accuracies) == 2 and all(0.2 < a < 1.0 for a in accuracies)


@pytest.mark.slow
def test_the_startup_probe_reaches_a_real_training_run():
    result = launch_train(REPO_ROOT / "train.py", "debug=fdr", "data.num_samples=500", "logger=none")
    assert 0 < result["first_step_s"] < result["total_s"] and result["peak_rss_mib"] > 100
