"""Loader speed of windows against rows on the same table: examples per second of one epoch
of training batches, `data=windows` (window `L`) over `data=tabular`, in one process.

    python scripts/bench/windows_loader.py [rows] [features] [window] [batch]

A window batch gathers `B x L` rows where a row batch gathers `B`, so the ratio is below 1 by
about the extra bytes copied; the table itself is read once for both.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from multiout.data.tables.datamodule import TabularDataModule
from multiout.data.tensor_datamodule import TensorDataModule
from multiout.data.windows.datamodule import WindowsDataModule


def write_table(path: Path, rows: int, features: int, channels: int = 8) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, features)).astype(np.float32)).add_prefix("x")
    for c in range(channels):
        frame[f"y_{c}"] = rng.integers(-1, 2, size=rows)
    frame.to_parquet(path)


def examples_per_second(datamodule: TensorDataModule, repeats: int = 3) -> float:
    datamodule.setup("fit")
    best = 0.0
    for _ in range(repeats):
        loader = datamodule.train_dataloader()
        start, seen = time.perf_counter(), 0
        for x, *_ in loader:
            seen += len(x)
        best = max(best, seen / (time.perf_counter() - start))
    return best


def main(rows: int = 200_000, features: int = 32, window: int = 32, batch: int = 256) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.parquet"
        write_table(path, rows, features)
        options = {"path": str(path), "batch_size": batch, "val_fraction": 0.1, "test_fraction": 0.1}
        tabular = examples_per_second(TabularDataModule(ordered_split=True, **options))
        windows = examples_per_second(WindowsDataModule(window=window, **options))
    print(f"{rows} rows x {features} features, batch {batch}: rows {tabular:,.0f}/s, windows of {window} "
          f"{windows:,.0f}/s, ratio {windows / tabular:.2f}")  # fmt: skip


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
