"""Loader speed of windows against rows on the same table: examples per second of one epoch
of training batches, `data=windows` (window `L`) over `data=tabular`, in one process.

    python scripts/bench/windows_loader.py [rows] [features] [window] [batch]

A window batch copies `B x L x F` feature values where a row batch copies `B x F`, so the
ratio of examples per second is below 1 by about the extra bytes copied; the bytes per second
of both are printed beside it, and so is the bound that copying alone puts on windows: one
plain copy of a batch's bytes from memory to memory. Each epoch kind is run `ROUNDS` times,
interleaved, and the best of each is kept, so that other work on the machine weighs less.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from multiout.data.tables.datamodule import TabularDataModule
from multiout.data.tensor_datamodule import TensorDataModule
from multiout.data.windows.datamodule import WindowsDataModule


def write_table(path: Path, rows: int, features: int, channels: int = 8) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, features)).astype(np.float32)).add_prefix("x")
    for c in range(channels):
        frame[f"y_{c}"] = rng.integers(-1, 2, size=rows)
    frame.to_parquet(path)


ROUNDS = 5


def examples_per_second(datamodule: TensorDataModule) -> float:
    """Examples per second of one training epoch's batches, gathered and dropped."""
    loader = datamodule.train_dataloader()
    start, seen = time.perf_counter(), 0
    for x, *_ in loader:
        seen += len(x)
    return seen / (time.perf_counter() - start)


def copy_bound(rows: int, features: int, window: int, batch: int) -> float:
    """Windows per second if a batch cost nothing but one contiguous copy of its bytes on one
    thread (as the gather runs), read in turn from a buffer the size of the table: about the
    most a gather of windows can reach."""
    size = batch * window * features
    source = np.random.default_rng(0).random((max(1, rows * features // size), size), np.float32)
    target = np.empty(size, np.float32)
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(4):
            for block in source:
                np.copyto(target, block)
        best = min(best, (time.perf_counter() - start) / (4 * len(source)))
    return batch / best


def main(rows: int = 200_000, features: int = 32, window: int = 32, batch: int = 256) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.parquet"
        write_table(path, rows, features)
        options = {"path": str(path), "batch_size": batch, "val_fraction": 0.1, "test_fraction": 0.1}
        modules = {"rows": TabularDataModule(ordered_split=True, **options),
                   "windows": WindowsDataModule(window=window, **options)}  # fmt: skip
        for datamodule in modules.values():
            datamodule.setup("fit")
        best = dict.fromkeys(modules, 0.0)
        for _ in range(ROUNDS):
            for name, datamodule in modules.items():
                best[name] = max(best[name], examples_per_second(datamodule))
    rate, window_rate = best["rows"], best["windows"]
    row_mb, window_mb = rate * features * 4 / 1e6, window_rate * window * features * 4 / 1e6
    threads = torch.get_num_threads()
    print(f"{rows} rows x {features} float32 features, batch {batch}, torch threads {threads}")
    print(f"rows:            {rate:12,.0f} examples/s {row_mb:8,.0f} MB/s of features")
    print(f"windows of {window:<4d} {window_rate:12,.0f} examples/s {window_mb:8,.0f} MB/s of features")
    print(f"ratio (windows / rows): examples {window_rate / rate:.2f}, bytes {window_mb / row_mb:.2f}")
    bound = copy_bound(rows, features, window, batch)
    print(f"copy bound for windows (one contiguous copy of each batch's bytes, one thread): {bound:,.0f}/s")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
