"""Peak memory of reading a table versus the size of the tensors it becomes.

`python scripts/tabular_memory.py --rows 200000` writes a random CSV and Parquet file
(64 features, 47 targets with -1/0/1 labels) to a temporary directory, then reads each in
a fresh process with `TabularDataModule` (split by fractions) and prints the peak resident
memory added by reading against the bytes of the resulting tensors.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def write_files(
    directory: Path, rows: int, features: int = 64, targets: int = 47, name: str = "big"
) -> list[Path]:
    rng = np.random.default_rng(0)
    columns = {f"x{i}": rng.normal(size=rows).astype(np.float32) for i in range(features)}
    columns |= {f"y_{c}": rng.integers(-1, 2, size=rows) for c in range(targets)}
    table = pa.table(columns)
    paths = [directory / f"{name}.csv", directory / f"{name}.parquet"]
    pacsv.write_csv(table, paths[0])
    pq.write_table(table, paths[1])
    return paths


def measure(path: str, warm_up: str) -> None:
    """In a fresh process: peak RSS added by building the data module, against tensor bytes.
    A small file of the same format is read first, so that imports, thread pools and
    allocator arenas, costs that do not grow with the file, are not counted."""
    from multiout.data.tables.datamodule import TabularDataModule

    TabularDataModule(path=warm_up).setup("fit")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    dm = TabularDataModule(path=path)
    dm.setup("fit")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tensors = sum(t.nbytes for split in dm.splits.values() for t in split)
    print(
        f"{Path(path).name}: tensors {tensors / 1e6:.0f} MB, peak added by reading "
        f"{(peak - before) / 1e6:.0f} MB ({(peak - before) / tensors:.2f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure)
        return
    with tempfile.TemporaryDirectory() as tmp:
        small = write_files(Path(tmp), 1000, name="small")
        for path, warm_up in zip(write_files(Path(tmp), args.rows), small, strict=True):
            subprocess.run([sys.executable, __file__, "--measure", str(path), str(warm_up)], check=True)


if __name__ == "__main__":
    main()
