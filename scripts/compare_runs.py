"""Compare finished runs in one table: `python scripts/compare_runs.py multirun/<date>/<time>`.

Prints a table sorted by a metric (best first), with the overrides that differ between runs;
runs that differ only in `seed` or `data.fold` are averaged (mean ± std). Also writes it as CSV.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from multiout.errors import InputError
from multiout.tools.compare import DEFAULT_METRICS, find_runs, runs_table, summarize, write_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("root", type=Path, help="a run dir, or an outputs/ or multirun/ tree")
    parser.add_argument("--sort", default="val/acc", help="metric to sort by (default: val/acc)")
    parser.add_argument("--ascending", action="store_true", help="smallest first (for losses)")
    parser.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS), help="metrics to show")
    parser.add_argument("--csv", type=Path, default=None, help="CSV path (default: <root>/compare_runs.csv)")
    args = parser.parse_args(argv)
    metrics = tuple(dict.fromkeys([args.sort, *args.metrics]))
    try:
        runs = find_runs(args.root)
        config_keys, rows = summarize(runs, args.root, metrics, args.sort, args.ascending)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    console = Console(width=max(Console().width, 160))
    console.print(runs_table(rows, config_keys, metrics))
    path = write_csv(args.csv or args.root / "compare_runs.csv", rows)
    console.print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
