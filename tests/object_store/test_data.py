"""Data in a bucket: read through the same code as local files, with the same results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from multiout.data.stream.datamodule import StreamDataModule
from tests.data.stream_files import write_dataset
from tests.helpers import feature_statistics
from tests.object_store.endpoint import use_endpoint

FEATURES = ["row", "f1", "f2"]


def stream_run(tmp_path: Path, name: str, root: str, entry, *extra: str) -> dict:
    run_dir = tmp_path / name
    code, stderr = entry(
        "train",
        f"hydra.run.dir={run_dir}",
        "data=stream",
        f"data.train_path={root}/train/part-*.parquet",
        f"data.val_path={root}/val",
        f"data.test_path={root}/test/part-0.parquet",
        "data.exclude_columns=[key]",
        "data.batch_size=16",
        "trainer.max_epochs=1",
        "logger=none",
        "callbacks.rich_progress_bar=null",
        "callbacks.rich_model_summary=null",
        "callbacks.per_channel_report.figures=false",  # part: figures
        *extra,
    )
    assert code == 0, stderr[-20:]
    return json.loads((run_dir / "metrics.json").read_text())


def test_a_glob_of_parquet_files_in_a_bucket_gives_the_metrics_of_the_same_files_on_disk(tmp_path, s3, entry):
    local = tmp_path / "data"
    for split, seed in (("train", 0), ("val", 1), ("test", 2)):
        write_dataset(local / split, seed=seed)
    bucket = s3.new_bucket()
    s3.upload_dir(local, bucket, "ds")
    on_disk = stream_run(tmp_path, "local", str(local), entry)
    remote = stream_run(tmp_path, "remote", f"s3://{bucket}/ds", entry)
    for metrics in (on_disk, remote):
        metrics.pop("ckpt_path")
    assert remote == on_disk
    assert remote["test/acc"] > 0  # a real test split was scored
    # The statistics pass was cached in the bucket, beside the training files.
    assert [k for k in s3.keys(bucket, "ds/train/") if ".multiout-statistics-" in k]


def test_a_read_only_bucket_caches_the_statistics_locally_and_the_next_run_reads_them(
    tmp_path, s3, monkeypatch
):
    write_dataset(tmp_path / "train")
    bucket = s3.new_bucket()
    s3.upload_dir(tmp_path / "train", bucket, "train")
    s3.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(DENY_WRITES(bucket)))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    module = StreamDataModule(train_path=f"s3://{bucket}/train", exclude_columns=["key"])
    mean, _, _ = feature_statistics(module)
    assert s3.keys(bucket, "train/") == [f"train/part-{i}.parquet" for i in range(5)]
    cached = list((tmp_path / "cache" / "multiout" / "statistics").glob(".multiout-statistics-*.json"))
    assert len(cached) == 1

    def no_pass(*args, **kwargs):
        raise AssertionError("read the files again")

    monkeypatch.setattr("multiout.data.stream.statistics.compute_statistics", no_pass)
    again, _, _ = feature_statistics(
        StreamDataModule(train_path=f"s3://{bucket}/train", exclude_columns=["key"])
    )
    assert again.tolist() == mean.tolist()


def DENY_WRITES(bucket: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


def test_storage_options_in_the_data_config_stand_in_for_the_environment(tmp_path, endpoint, monkeypatch):
    frame = write_dataset(tmp_path / "train")
    bucket = endpoint.new_bucket()
    endpoint.upload_dir(tmp_path / "train", bucket, "train")
    use_endpoint(
        monkeypatch, endpoint, AWS_ENDPOINT_URL=None, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None
    )
    options = {"endpoint_url": endpoint.url, "key": "testing", "secret": "testing"}
    module = StreamDataModule(
        train_path=f"s3://{bucket}/train", exclude_columns=["key"], storage_options=options
    )
    mean, _, _ = feature_statistics(module)
    np.testing.assert_allclose(mean.numpy(), frame[FEATURES].mean().to_numpy(), rtol=1e-6)
    # The cache went beside the files, through the same options.
    assert [k for k in endpoint.keys(bucket, "train/") if ".multiout-statistics-" in k]
