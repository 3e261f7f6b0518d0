"""Streaming Parquet from an S3 endpoint on 127.0.0.1 against the same files on the local disk.

    python scripts/bench/object_store.py [--rows 400000] [--files 4] [--rounds 2]

Writes `--rows` random rows (32 float features, 47 targets; scripts/stream_memory.py) as
`--files` Parquet files, uploads them to moto's S3 server (its own process, as an endpoint
would be, on a free local port), and reads what a run reads first (footers, the statistics
pass, one epoch of training batches) through `data=stream` from each place, interleaved for
`--rounds` rounds. Prints rows per second of each (the best round) and their ratio. The
endpoint is local, so the ratio measures what reading through fsspec costs, not a network.
Needs the dev extra (s3fs, moto[server]).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stream_memory import write_dataset

from multiout.data.stream.datamodule import StreamDataModule


def epoch_rate(train_path: str, batch_size: int) -> float:
    """Rows per second of what a run reads before and in its first epoch: the footers, the
    statistics pass (not cached, so every row) and one epoch of training batches."""
    start = time.perf_counter()
    module = StreamDataModule(train_path=train_path, target_columns="y_*", batch_size=batch_size,
                              cache_statistics=False)  # fmt: skip
    module.setup("fit")
    rows = module.files["train"].num_rows
    for x, _ in module.train_dataloader():
        rows += len(x)
    return rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp, "train")
        write_dataset(local, args.rows, args.files)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="bench",
                              AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")  # fmt: skip
            client = boto3.client("s3")
            for _ in range(300):  # the server takes a moment to start
                try:
                    client.create_bucket(Bucket="bench")
                    break
                except Exception:
                    time.sleep(0.1)
            for path in sorted(local.iterdir()):
                client.upload_file(str(path), "bench", f"train/{path.name}")
            rates: dict[str, list[float]] = {"local disk": [], "local S3 endpoint": []}
            for _ in range(args.rounds):
                rates["local disk"].append(epoch_rate(str(local), args.batch_size))
                rates["local S3 endpoint"].append(epoch_rate("s3://bench/train", args.batch_size))
        finally:
            server.terminate()
            server.wait()
    best = {name: max(values) for name, values in rates.items()}
    for name, rate in best.items():
        print(f"{name:>18}: {rate:,.0f} rows/s (rounds: {', '.join(f'{r:,.0f}' for r in rates[name])})")
    print(
        f"ratio S3 / disk: {best['local S3 endpoint'] / best['local disk']:.2f} ({args.rows:,} rows, {args.files} files)"
    )


if __name__ == "__main__":
    main()
