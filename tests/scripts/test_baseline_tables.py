"""The baselines on a table: its splits cut as the data module cuts them, strings as categories."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from baseline import TREE_OPTIONS, main
from hydra import compose, initialize_config_dir
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from multiout.runtime.build import build
from tests.helpers import REPO_ROOT
from tests.scripts.test_baseline import accuracies


def write_table(path) -> pd.DataFrame:
    """Strings with gaps, numbers with gaps and missing labels, in a CSV file."""
    rng = np.random.default_rng(0)
    n = 300
    colour = rng.choice(["red", "green", "blue", ""], n, p=[0.4, 0.3, 0.2, 0.1])
    size = rng.normal(size=n).round(3)
    weight = np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n).round(3))
    frame = pd.DataFrame({"row": np.arange(n), "colour": colour, "size": size, "weight": weight})
    signal = (colour == "red") * 1.5 - (colour == "blue") + size + np.nan_to_num(weight)
    for c in range(3):
        noisy = signal + rng.normal(scale=0.7 + 0.3 * c, size=n)
        label = np.select([noisy < -0.5, noisy > 0.8], [-1, 1], 0).astype(float)
        label[rng.random(n) < 0.1] = np.nan
        frame[f"y_{c}"] = pd.array(label).astype("Int64")
    frame.to_csv(path, index=False)
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def template_rows(path) -> dict[str, np.ndarray]:
    """The file rows of each split as the data module cuts them (from its `row` feature; the
    columns without gaps, which the data module reads as they are)."""
    overrides = [
        "data=tabular",
        f"data.path={path}",
        "data.test_fraction=0.3",
        "data.feature_columns=[row,size]",
    ]
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        datamodule = build(compose("train", overrides=overrides).data)
    datamodule.setup("fit")
    return {s: datamodule.splits[s][0][:, 0].numpy().astype(int) for s in ("train", "val", "test")}


def test_boosted_trees_match_a_fit_on_the_templates_splits(tmp_path, capsys):
    path = tmp_path / "table.csv"
    raw = write_table(path)
    main(["data=tabular", f"data.path={path}", "data.test_fraction=0.3"])
    out = capsys.readouterr().out
    assert "rows: train 180, val 30, test 90; features: 3 numeric, 1 categorical" in out
    rounds = int(re.search(r"rounds=(\d+) chosen", out).group(1))
    rows = template_rows(path)
    # Colours as codes by hand: the training split's colours in sorted order, anything else missing.
    train_colours = sorted(raw["colour"].iloc[rows["train"]].dropna().unique())
    codes = raw["colour"].map({c: float(k) for k, c in enumerate(train_colours)})
    x = raw[["row", "colour", "size", "weight"]].assign(colour=codes).to_numpy()  # file order
    per_channel = []
    with threadpool_limits(1):  # as the script: OpenMP threads crawl on a busy machine
        for c in range(3):
            y = raw[f"y_{c}"]
            train = [r for r in rows["train"] if not pd.isna(y[r])]
            test = [r for r in rows["test"] if not pd.isna(y[r])]
            model = HistGradientBoostingClassifier(
                max_iter=rounds,
                categorical_features=[False, True, False, False],
                random_state=0,
                **TREE_OPTIONS,
            ).fit(x[train], y[train].astype(int))
            per_channel.append(np.mean(model.predict(x[test]) == y[test].astype(int).to_numpy()))
    assert accuracies(out)[2] == pytest.approx(np.mean(per_channel), abs=5e-5)
