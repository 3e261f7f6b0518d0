"""A run on the built-in data whose outputs live in a bucket: checkpoints, metrics, report and
figures land there whole, and evaluate reads the checkpoint back from there."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_in_process
from tests.object_store.endpoint import use_endpoint

CHANNELS = 5
# Two epochs of a small MLP in small batches, nothing drawn on the terminal.
QUICK_RUN = [
    "data.batch_size=64",
    "trainer.max_epochs=2",
    "model.net.hidden_sizes=[16]",
    "callbacks.rich_progress_bar=null",
    "callbacks.rich_model_summary=null",
]
QUICK = ["data.num_samples=600", f"data.num_channels={CHANNELS}", *QUICK_RUN]


@pytest.fixture(scope="module")
def remote_run(endpoint, tmp_path_factory):
    """One training run with `paths.output_dir` in a bucket, shared by the tests below."""
    tmp = tmp_path_factory.mktemp("remote_run")
    with pytest.MonkeyPatch.context() as patch:
        use_endpoint(patch, endpoint)
        bucket = endpoint.new_bucket()
        out = f"s3://{bucket}/runs/x"
        code, stderr = run_in_process(
            "train", f"hydra.run.dir={tmp / 'hydra'}", f"paths.output_dir={out}", *QUICK
        )
        assert code == 0, stderr[-20:]
    return {"bucket": bucket, "out": out, "hydra": tmp / "hydra"}


def test_a_remote_output_dir_gets_checkpoints_metrics_report_and_figures_and_hydra_stays_local(
    remote_run, s3
):
    bucket = remote_run["bucket"]
    keys = s3.keys(bucket, "runs/x/")
    assert "runs/x/checkpoints/last.ckpt" in keys
    assert "runs/x/metrics.json" in keys and "runs/x/per_channel.csv" in keys
    assert "runs/x/per_channel_accuracy.png" in keys  # part: figures
    assert "runs/x/per_channel_confusion.png" in keys  # part: figures
    assert not [k for k in keys if ".multiout-write-probe" in k or k.endswith(".tmp")]
    metrics = json.loads(s3.read(bucket, "runs/x/metrics.json"))
    assert metrics["ckpt_path"].startswith(f"s3://{bucket}/runs/x/checkpoints/epoch_")
    assert metrics["ckpt_path"].removeprefix(f"s3://{bucket}/") in keys
    per_channel = s3.read(bucket, "runs/x/per_channel.csv").decode().splitlines()
    assert len(per_channel) == 1 + CHANNELS
    hydra = remote_run["hydra"]
    assert (hydra / ".hydra" / "config.yaml").is_file() and (hydra / "train.log").is_file()
    assert not (hydra / "checkpoints").exists() and not (hydra / "metrics.json").exists()


def test_evaluate_reads_a_checkpoint_from_the_bucket_and_gives_the_runs_test_metrics(
    remote_run, s3, entry, tmp_path
):
    trained = json.loads(s3.read(remote_run["bucket"], "runs/x/metrics.json"))
    code, stderr = entry("evaluate", f"hydra.run.dir={tmp_path / 'eval'}", f"ckpt_path={trained['ckpt_path']}",
                         "callbacks=none", "logger=none")  # fmt: skip
    assert code == 0, stderr[-20:]
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["test/acc_per_channel"] == trained["test/acc_per_channel"]
    assert evaluated["ckpt_path"] == trained["ckpt_path"]


# part: export
def test_export_reads_a_checkpoint_from_the_bucket_and_writes_beside_the_command(
    remote_run, s3, tmp_path, monkeypatch, capsys
):
    from export import main as export_script  # scripts/export.py, in this process

    ckpt = f"{remote_run['out']}/checkpoints/last.ckpt"
    monkeypatch.chdir(tmp_path)
    export_script([f"ckpt_path={ckpt}", "format=torchscript"])
    assert "exported to last.pt" in capsys.readouterr().out
    assert (tmp_path / "last.pt").is_file()


# end part
