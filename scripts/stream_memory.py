"""Peak memory and training speed of streaming Parquet files (data=stream) against the in-memory loader.

    python scripts/stream_memory.py [--rows 4000000] [--files 8] [--throughput-rows 200000] [--rounds 3]

Writes `--rows` random rows (32 float features, 47 targets with -1/0/1 labels) as `--files`
Parquet files of 65,536-row groups into a temporary directory, then, each in a fresh process:

1. trains two epochs on all of them with data=stream and prints the process's peak resident
   memory, against the bytes that the same rows would take as in-memory tensors;
2. trains on the first `--throughput-rows` rows with data=stream and with data=tabular (one
   file, in memory), interleaved for `--rounds` rounds, and prints the median ratio of their
   training throughput in CPU time (one torch thread, as scripts/benchmark.py measures it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]
FEATURES, TARGETS, ROW_GROUP = 32, 47, 65_536
CHUNK = 262_144  # rows generated at a time while writing


def write_dataset(directory: Path, rows: int, files: int, single: Path | None = None) -> None:
    """`files` Parquet files of about equal size under `directory` (and all rows in `single`)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    schema = pa.schema([*(pa.field(f"x{i}", pa.float32()) for i in range(FEATURES)),
                        *(pa.field(f"y_{c}", pa.int8()) for c in range(TARGETS))])  # fmt: skip
    one = pq.ParquetWriter(single, schema) if single else None
    bounds = np.linspace(0, rows, files + 1).astype(int)
    for i, (start, stop) in enumerate(itertools.pairwise(bounds)):
        with pq.ParquetWriter(directory / f"part-{i:03d}.parquet", schema) as writer:
            for a in range(start, stop, CHUNK):
                n = min(CHUNK, stop - a)
                columns = [pa.array(rng.normal(size=n).astype(np.float32)) for _ in range(FEATURES)]
                columns += [pa.array(rng.integers(-1, 2, size=n).astype(np.int8)) for _ in range(TARGETS)]
                table = pa.Table.from_arrays(columns, schema=schema)
                writer.write_table(table, row_group_size=ROW_GROUP)
                if one is not None:
                    one.write_table(table, row_group_size=ROW_GROUP)
    if one is not None:
        one.close()


def _config(data: list[str], output_dir: str, epochs: int, batch_size: int):
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from bench.training import BENCH_OVERRIDES, compose_train_config

    overrides = [*BENCH_OVERRIDES, *data, f"trainer.max_epochs={epochs}", f"data.batch_size={batch_size}",
                 "trainer.accelerator=cpu", "logger=none", "test=false"]  # fmt: skip
    return compose_train_config(REPO_ROOT / "conf", Path(output_dir), overrides)


def peak_memory(directory: str, batch_size: int) -> None:
    """In a fresh process: two epochs of data=stream over every file; prints JSON."""
    import torch
    from bench.training import template_samples_per_s

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        cfg = _config(["data=stream", f"data.train_path={directory}"], out, epochs=2, batch_size=batch_size)
        setup = template_samples_per_s(cfg)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"rows": setup["samples"], "steps": setup["steps"], "peak_rss_bytes": peak,
                      "seconds": time.perf_counter() - start}))  # fmt: skip


def throughput(directory: str, single: str, rounds: int, batch_size: int) -> None:
    """In a fresh process: training samples/s (CPU time) of data=stream and data=tabular; prints JSON."""
    import torch
    from bench.timing import interleaved, median, median_ratio
    from bench.training import template_samples_per_s

    torch.set_num_threads(1)
    candidates = {
        "stream": ["data=stream", f"data.train_path={directory}"],
        "memory": ["data=tabular", f"data.train_path={single}"],
    }
    with tempfile.TemporaryDirectory() as out:
        configs = {
            name: _config(data, out, epochs=3, batch_size=batch_size) for name, data in candidates.items()
        }
        runs = interleaved({name: (lambda c=c: template_samples_per_s(c)["cpu"]) for name, c in configs.items()},
                           rounds)  # fmt: skip
    print(json.dumps({**{f"{n}_samples_per_s_cpu": median(v) for n, v in runs.items()},
                      "stream_vs_memory_cpu": median_ratio(runs["stream"], runs["memory"])}))  # fmt: skip


def _child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(args[:1])} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=1024, help="for the memory run")
    parser.add_argument("--throughput-rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peak-memory", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--throughput", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_memory:
        return peak_memory(args.peak_memory[0], int(args.peak_memory[1]))
    if args.throughput:
        return throughput(*args.throughput[:2], int(args.throughput[2]), int(args.throughput[3]))
    with tempfile.TemporaryDirectory() as tmp:
        if args.rows:
            write_dataset(Path(tmp) / "big", args.rows, args.files)
            result = _child("--peak-memory", str(Path(tmp) / "big"), str(args.batch_size))
            tensors = args.rows * (FEATURES * 4 + TARGETS * 8)  # float32 features, int64 class ids
            print(f"{result['rows']:,} rows, {result['steps']} steps of {args.batch_size} in "
                  f"{result['seconds']:.0f} s: peak RSS {result['peak_rss_bytes'] / 2**30:.2f} GiB "
                  f"(the same rows as in-memory tensors: {tensors / 2**30:.2f} GiB)")  # fmt: skip
        if args.throughput_rows:
            small, single = Path(tmp) / "small", Path(tmp) / "small.parquet"
            write_dataset(small, args.throughput_rows, args.files, single)
            speed = _child("--throughput", str(small), str(single), str(args.rounds), "256")
            print(f"training on {args.throughput_rows:,} rows, B=256: stream {speed['stream_samples_per_s_cpu']:,.0f}, "
                  f"in memory {speed['memory_samples_per_s_cpu']:,.0f} samples/s (CPU time); "
                  f"stream / in memory {speed['stream_vs_memory_cpu']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
