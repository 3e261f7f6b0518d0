"""A run on tables in a bucket, with its outputs there too: evaluate scores a test file in the
bucket, and predict writes the same predictions from the remote checkpoint as from a local
copy of it."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.data.tabular_files import CHANNELS, labelled_frame
from tests.helpers import run_in_process
from tests.object_store.endpoint import use_endpoint
from tests.object_store.test_outputs import QUICK_RUN

QUICK = ["data=tabular", *QUICK_RUN]


@pytest.fixture(scope="module")
def remote_run(endpoint, tmp_path_factory):
    """One training run on CSV files in a bucket, with `paths.output_dir` in the bucket too,
    shared by the tests below."""
    tmp = tmp_path_factory.mktemp("remote_run")
    with pytest.MonkeyPatch.context() as patch:
        use_endpoint(patch, endpoint)
        bucket = endpoint.new_bucket()
        client = endpoint.client()
        files = []
        for split, (n, seed) in {"train": (300, 1), "val": (100, 2), "test": (100, 3)}.items():
            frame = labelled_frame(n, seed)
            client.put_object(Bucket=bucket, Key=f"data/{split}.csv", Body=frame.to_csv(index=False).encode())
            files.append(f"data.{split}_path=s3://{bucket}/data/{split}.csv")
        out = f"s3://{bucket}/runs/x"
        code, stderr = run_in_process(
            "train", f"hydra.run.dir={tmp / 'hydra'}", f"paths.output_dir={out}", *QUICK, *files
        )
        assert code == 0, stderr[-20:]
    return {"bucket": bucket, "out": out, "hydra": tmp / "hydra", "test": labelled_frame(100, 3)}


def test_evaluate_and_predict_read_a_checkpoint_from_the_bucket(remote_run, s3, entry, tmp_path):
    bucket, out = remote_run["bucket"], remote_run["out"]
    trained = json.loads(s3.read(bucket, "runs/x/metrics.json"))
    ckpt = trained["ckpt_path"]
    test_file = f"s3://{bucket}/data/test.csv"
    code, stderr = entry("evaluate", f"hydra.run.dir={tmp_path / 'eval'}", f"ckpt_path={ckpt}",
                         f"data.test_path={test_file}", "callbacks=none", "logger=none")  # fmt: skip
    assert code == 0, stderr[-20:]
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["test/acc"] == trained["test/acc"]
    assert evaluated["ckpt_path"] == ckpt
    # The same checkpoint, copied to the local disk, predicts the same rows byte for byte.
    local_ckpt = tmp_path / "best.ckpt"
    local_ckpt.write_bytes(s3.read(bucket, ckpt.removeprefix(f"s3://{bucket}/")))
    for name, checkpoint, target in (
        ("remote", ckpt, f"{out}/predictions.csv"),
        ("local", local_ckpt, tmp_path / "predictions.csv"),
    ):
        code, stderr = entry("predict", f"hydra.run.dir={tmp_path / name}", f"ckpt_path={checkpoint}",
                             f"data.predict_path={test_file}", f"predictions_file={target}")  # fmt: skip
        assert code == 0, stderr[-20:]
    remote = s3.read(bucket, "runs/x/predictions.csv")
    assert remote == (tmp_path / "predictions.csv").read_bytes()
    # And they score as evaluate reported: accuracy over the labelled cells, counted by hand.
    predicted, test = pd.read_csv(tmp_path / "predictions.csv"), remote_run["test"]
    per_channel = []
    for name in CHANNELS:
        known = test[name].notna()
        per_channel.append(float((predicted[name][known] == test[name][known]).mean()))
    assert sum(per_channel) / len(per_channel) == pytest.approx(evaluated["test/acc"], abs=1e-6)
