"""SIGTERM with checkpoints in a bucket: `last.ckpt` lands there, and a run resumed from the
bucket ends with the weights of a run never interrupted. Real processes, a real signal."""

from __future__ import annotations

import io
import shlex
import signal
import time

import pytest
import torch

from tests.tasks.test_faults import RUN, start

pytestmark = pytest.mark.slow

EPOCHS = ["trainer.max_epochs=2", "data.num_samples=1000", "logger=none"]


def signal_at_first_checkpoint(proc, s3, bucket: str) -> bytes:
    """SIGTERM as soon as the run's first `last.ckpt` and the first epoch's checkpoint are in
    the bucket (the two uploads finish in either order); returns the first epoch's checkpoint,
    read before the signal (a better epoch may replace it before the run stops)."""
    wanted = {"runs/broken/checkpoints/last.ckpt", "runs/broken/checkpoints/epoch_000.ckpt"}
    while not wanted <= set(s3.keys(bucket, "runs/broken/checkpoints/")):
        assert proc.poll() is None, f"the run ended before a checkpoint:\n{proc.stderr.read()[-3000:]}"
        time.sleep(0.05)
    first_epoch = s3.read(bucket, "runs/broken/checkpoints/epoch_000.ckpt")
    proc.send_signal(signal.SIGTERM)
    return first_epoch


def weights(data: bytes) -> dict:
    return torch.load(io.BytesIO(data), weights_only=True)["state_dict"]


def test_a_run_stopped_by_sigterm_resumes_from_the_bucket_to_the_same_weights(s3, tmp_path, monkeypatch):
    bucket = s3.new_bucket()
    monkeypatch.setattr(
        "tests.tasks.test_faults.ENV", {**s3.env(), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    )
    (tmp_path / "reference").mkdir()
    runs = {name: f"paths.output_dir=s3://{bucket}/runs/{name}" for name in ("reference", "broken")}
    reference = start(tmp_path / "reference" / "hydra", runs["reference"], *EPOCHS)
    (tmp_path / "broken").mkdir()
    broken = start(tmp_path / "broken" / "hydra", runs["broken"], *EPOCHS)
    first_epoch_bytes = signal_at_first_checkpoint(broken, s3, bucket)
    out, err = broken.communicate(timeout=300)
    assert broken.returncode == 128 + signal.SIGTERM, err[-3000:]
    remote = f"s3://{bucket}/runs/broken"
    hint = f"continue with: python train.py {shlex.join([*RUN, runs['broken'], *EPOCHS])} resume={remote}"
    assert hint in out + err
    stopped = torch.load(io.BytesIO(s3.read(bucket, "runs/broken/checkpoints/last.ckpt")), weights_only=True)
    first_epoch = torch.load(io.BytesIO(first_epoch_bytes), weights_only=True)
    assert stopped["global_step"] > first_epoch["global_step"]  # saved on SIGTERM, in the second epoch
    assert "runs/broken/metrics.json" not in s3.keys(bucket, "runs/broken/")

    resumed = start(tmp_path / "broken" / "resumed", runs["broken"], *EPOCHS, f"resume={remote}")
    for proc in (reference, resumed):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    final = {name: weights(s3.read(bucket, f"runs/{name}/checkpoints/last.ckpt")) for name in runs}
    assert final["broken"].keys() == final["reference"].keys()
    for key, value in final["reference"].items():
        assert torch.equal(final["broken"][key], value), key
