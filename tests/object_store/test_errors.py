"""Bad storage input and storage faults: one line, exit 2, nothing already written lost."""

from __future__ import annotations

import json

import pytest  # part: stream

from tests.data.stream_files import write_dataset  # part: stream
from tests.helpers import SMALL_DATA
from tests.object_store.endpoint import use_endpoint  # part: stream

BASE = [
    "trainer.max_epochs=1",
    "logger=none",
    "callbacks.rich_progress_bar=null",
    "callbacks.rich_model_summary=null",
    "callbacks.per_channel_report.figures=false",  # part: figures
]


def deny(bucket: str, action: str) -> str:
    statement = {"Effect": "Deny", "Principal": "*", "Action": action, "Resource": f"arn:aws:s3:::{bucket}/*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def one_error_line(code, stderr: list[str]) -> str:
    assert code == 2, stderr[-20:]
    errors = [line for line in stderr if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in "\n".join(stderr), stderr[-20:]
    return errors[0]


QUICK = [*SMALL_DATA, *BASE]


# part: stream
@pytest.fixture
def stream_bucket(s3, tmp_path):
    """A bucket holding a small Parquet training split."""
    write_dataset(tmp_path / "train")
    bucket = s3.new_bucket()
    s3.upload_dir(tmp_path / "train", bucket, "train")
    return bucket


def stream(bucket: str) -> list[str]:
    return [*BASE, "data=stream", f"data.train_path=s3://{bucket}/train", "data.exclude_columns=[key]"]


def test_missing_credentials(stream_bucket, endpoint, monkeypatch, entry, tmp_path):
    use_endpoint(monkeypatch, endpoint, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    code, stderr = entry("train", f"hydra.run.dir={tmp_path / 'run'}", *stream(stream_bucket))
    line = one_error_line(code, stderr)
    assert f"data.train_path='s3://{stream_bucket}/train'" in line and "no credentials" in line
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_bucket_that_does_not_exist(s3, entry, tmp_path):
    code, stderr = entry("train", f"hydra.run.dir={tmp_path / 'run'}", *stream("no-such-bucket"))
    assert "data.train_path='s3://no-such-bucket/train': no such bucket 'no-such-bucket'" in one_error_line(
        code, stderr
    )
    code, stderr = entry(
        "evaluate", f"hydra.run.dir={tmp_path / 'eval'}", "ckpt_path=s3://no-such-bucket/a.ckpt"
    )
    assert "no checkpoint file at 's3://no-such-bucket/a.ckpt'" in one_error_line(code, stderr)


def test_read_denied(stream_bucket, s3, entry, tmp_path):
    s3.client().put_bucket_policy(Bucket=stream_bucket, Policy=deny(stream_bucket, "s3:GetObject"))
    code, stderr = entry("train", f"hydra.run.dir={tmp_path / 'run'}", *stream(stream_bucket))
    line = one_error_line(code, stderr)
    assert f"s3://{stream_bucket}/train" in line and "access denied" in line


# end part


def test_write_denied_for_checkpoints_stops_the_run_before_training(s3, entry, tmp_path):
    bucket = s3.new_bucket()
    s3.client().put_object(Bucket=bucket, Key="ckpts/last.ckpt", Body=b"an earlier run's checkpoint")
    s3.client().put_bucket_policy(Bucket=bucket, Policy=deny(bucket, "s3:PutObject"))
    run_dir = tmp_path / "run"
    code, stderr = entry("train", f"hydra.run.dir={run_dir}", *QUICK, "logger=csv",
                         f"callbacks.model_checkpoint.dirpath=s3://{bucket}/ckpts")  # fmt: skip
    line = one_error_line(code, stderr)
    assert (
        f"the dirpath of ModelCheckpoint: cannot write to s3://{bucket}/ckpts" in line
        and "access denied" in line
    )
    assert not list(run_dir.rglob("metrics.csv"))  # not a step was trained
    assert s3.read(bucket, "ckpts/last.ckpt") == b"an earlier run's checkpoint"
