"""A store that stops answering mid-run: the run stops with one line, the mid-epoch
checkpoint written before is whole, and the run resumes from it once the store is back."""

from __future__ import annotations

import io
import threading
import time

import torch

from tests.object_store.endpoint import running_endpoint, use_endpoint
from tests.object_store.test_errors import QUICK, one_error_line


def test_the_endpoint_going_away_mid_epoch_stops_the_run_and_keeps_the_last_checkpoint(
    monkeypatch, entry, tmp_path
):
    """Checkpoints every 5 steps into a bucket whose endpoint stops answering after the first:
    the run ends with one line once the client gives up, the checkpoint from before is whole,
    and with the endpoint back the run resumes from it to the end."""
    with running_endpoint() as first:
        port = first.port
        use_endpoint(monkeypatch, first, AWS_MAX_ATTEMPTS="2")
        bucket = first.new_bucket()
        out = f"s3://{bucket}/runs/x"

        def stop_after_first_checkpoint():
            client = first.client()
            for _ in range(3000):
                if "runs/x/checkpoints/last.ckpt" in first.keys(bucket, "runs/x/checkpoints/"):
                    first.server.stop()
                    return
                time.sleep(0.01)
            del client

        watcher = threading.Thread(target=stop_after_first_checkpoint)
        watcher.start()
        code, stderr = entry("train", f"hydra.run.dir={tmp_path / 'run'}", f"paths.output_dir={out}", *QUICK,
                             "callbacks.last_checkpoint.every_n_train_steps=5")  # fmt: skip
        watcher.join()
        line = one_error_line(code, stderr)
        assert f"s3://{bucket}/runs/x/" in line and "connect" in line.lower()
    with running_endpoint(port) as again:
        use_endpoint(monkeypatch, again)
        kept = torch.load(io.BytesIO(again.read(bucket, "runs/x/checkpoints/last.ckpt")), weights_only=True)
        assert kept["global_step"] == 5
        code, stderr = entry("train", f"hydra.run.dir={tmp_path / 'resumed'}", *QUICK, f"resume={out}")
        assert code == 0, stderr[-20:]
        assert "runs/x/metrics.json" in again.keys(bucket, "runs/x/")
