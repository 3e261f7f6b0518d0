"""Write a table of 47 series whose next step depends on the last few steps, with its Bayes
accuracy: the data on which windows (`data=windows`) must beat rows read one at a time.

Each series' step `u(t)` follows the same stationary AR(2), `u(t+1) = a1 u(t) + a2 u(t-1) + e`,
e ~ N(0, 1), with a small `a1`: the next step depends on the step before the current one. Row t holds every series' step `x_s = u_s(t)` and, as targets,
the direction of each series' next step, `y_s` in -1/0/1 (flat within `FLAT_BAND` standard
deviations of u). A row alone shows u(t) only; a window of 2 or more rows shows all the
model uses. Printed: the Bayes accuracy with the whole past (the exact class probabilities
of the generating model, averaged over the test rows), and the best accuracy from the
current row alone (a Gaussian u(t+1) | u(t), from the table's own lag-1 correlation).

    python scripts/make_series.py --out data/series.csv
    python train.py data=windows data.path=data/series.csv model/net=gru
    python train.py data=tabular data.path=data/series.csv data.ordered_split=true
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from multiout.data.splits import split_sizes

NUM_SERIES = 47
COEFFICIENTS = (0.1, -0.6)  # a1, a2: the next step leans on the step before the current one
FLAT_BAND = 0.43  # in standard deviations of u: about a third of the steps are flat
BURN_IN = 100


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))


def best_accuracy(mean: np.ndarray, sd: float, band: float) -> float:
    """The expected accuracy of always picking the likeliest class of a N(mean, sd) next step
    (an expectation over the noise, not one draw of it)."""
    down = _normal_cdf((-band - mean) / sd)
    up = 1.0 - _normal_cdf((band - mean) / sd)
    return float(np.maximum(np.maximum(down, up), 1.0 - down - up).mean())


def simulate(steps: int, seed: int) -> np.ndarray:
    """`[steps + 1, NUM_SERIES]` steps of every series (one more: the last row's next step)."""
    rng = np.random.default_rng(seed)
    u = np.zeros((steps + 1 + BURN_IN, NUM_SERIES))
    a1, a2 = COEFFICIENTS
    for t in range(2, len(u)):
        u[t] = a1 * u[t - 1] + a2 * u[t - 2] + rng.normal(size=NUM_SERIES)
    return u[BURN_IN:]


def build_table(u: np.ndarray) -> tuple[pd.DataFrame, float]:
    band = FLAT_BAND * u.std()
    current, following = u[:-1], u[1:]
    frame = pd.DataFrame({"t": np.arange(len(current))})
    for s in range(NUM_SERIES):
        frame[f"x_{s:02d}"] = current[:, s].round(4)
    for s in range(NUM_SERIES):
        frame[f"y_{s:02d}"] = np.select([following[:, s] < -band, following[:, s] > band], [-1, 1], 0)
    return frame, band


def bayes_accuracies(u: np.ndarray, band: float, test_rows: slice) -> tuple[float, float]:
    """(with the whole past, from the current row alone) on the test rows."""
    a1, a2 = COEFFICIENTS
    current = u[:-1]
    past = np.zeros_like(current)
    past[1:] = a1 * current[1:] + a2 * current[:-1]
    full = best_accuracy(past[test_rows], 1.0, band)
    rho = np.corrcoef(current[:-1].ravel(), current[1:].ravel())[0, 1]
    sd = math.sqrt((1 - rho**2) * current.var())
    alone = best_accuracy(rho * current[test_rows], sd, band)
    return full, alone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/series.csv"))
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    args = parser.parse_args()
    u = simulate(args.steps, args.seed)
    frame, band = build_table(u)
    sizes = split_sizes(len(frame), args.val_fraction, args.test_fraction)
    test = slice(sizes["train"] + sizes["val"], len(frame))
    full, alone = bayes_accuracies(u, band, test)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"{args.out}: {len(frame)} rows, {NUM_SERIES} series")
    print(
        f"Bayes accuracy on the test rows: {full:.4f} with the last 2 steps, {alone:.4f} from the current row alone"
    )


if __name__ == "__main__":
    main()
