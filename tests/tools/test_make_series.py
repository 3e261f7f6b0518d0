"""scripts/make_series.py: the Bayes accuracy it prints is what the likeliest class, from the
generating model, scores on the table's own labels; the row alone tells much less."""

from __future__ import annotations

import numpy as np
import pandas as pd
from make_series import COEFFICIENTS, NUM_SERIES, bayes_accuracies, build_table, simulate
from scipy.stats import norm


def test_the_printed_bayes_accuracy_is_what_the_true_model_scores_on_the_labels():
    u = simulate(2000, seed=1)
    frame, band = build_table(u)
    rows = slice(1, len(frame))
    full, alone = bayes_accuracies(u, band, rows)
    # The likeliest class of the true next step, N(mean, 1), scored against the drawn labels.
    a1, a2 = COEFFICIENTS
    mean = a1 * u[1:-1] + a2 * u[:-2]
    down, below_up = norm.cdf(-band, loc=mean), norm.cdf(band, loc=mean)
    chosen = np.stack([down, below_up - down, 1 - below_up]).argmax(axis=0) - 1
    labels = frame[[f"y_{s:02d}" for s in range(NUM_SERIES)]].to_numpy()[1:]
    assert abs((chosen == labels).mean() - full) < 0.01
    assert full > alone + 0.1
    assert isinstance(frame, pd.DataFrame) and list(frame.columns[:2]) == ["t", "x_00"]
