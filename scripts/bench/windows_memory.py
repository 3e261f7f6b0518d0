"""Peak memory of data=windows against the size of the table's own tensors.

    python scripts/bench/windows_memory.py [--rows 1000000] [--features 32] [--window 64]

Writes a random CSV and Parquet table (`--features` float features, 47 targets with -1/0/1
labels; scripts/tabular_memory.py) to a temporary directory, then, for each in a fresh
process, does what a training run does with it: builds `WindowsDataModule` (split by
fractions), asks for its data spec (statistics and label counts of the training rows) and
serves one epoch of training and validation windows. Prints the peak resident memory that
added against the bytes of the tensors it holds (features, targets, the rows windows end at).
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tabular_memory import write_files


def memory_kb(field: str) -> int:
    """`VmRSS` (resident now) or `VmHWM` (its peak) of this process, from Linux's /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure(path: str, warm_up: str, window: int) -> None:
    """In a fresh process. A small file of the same format goes through the same steps
    first, so that imports, thread pools and allocator arenas are not counted; then the
    peak is reset (Linux: "5" to /proc/self/clear_refs), so only what the table adds counts."""
    from multiout.data.windows.datamodule import WindowsDataModule

    for file in (warm_up, path):
        if file == path:
            gc.collect()
            before = memory_kb("VmRSS")
            Path("/proc/self/clear_refs").write_text("5")
        datamodule = WindowsDataModule(path=file, window=window)
        datamodule.setup("fit")
        datamodule.data_spec()
        for loader in (datamodule.train_dataloader(), datamodule.val_dataloader()):
            for _ in loader:
                pass
    added = (memory_kb("VmHWM") - before) * 1024
    tensors = {id(t): t for split in datamodule.splits.values() for t in split}
    size = sum(t.nbytes for t in tensors.values())
    name = Path(path).name
    print(f"{name}: tensors {size / 1e6:.0f} MB, peak added {added / 1e6:.0f} MB ({added / size:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure, args.window)
        return
    with tempfile.TemporaryDirectory() as tmp:
        small = write_files(Path(tmp), 10 * args.window, args.features, name="small")
        for path, warm_up in zip(write_files(Path(tmp), args.rows, args.features), small, strict=True):
            command = [sys.executable, __file__, "--measure", str(path), str(warm_up)]
            subprocess.run([*command, "--window", str(args.window)], check=True)


if __name__ == "__main__":
    main()
