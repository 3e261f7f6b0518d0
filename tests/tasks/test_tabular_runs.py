"""End to end on your own files: train, evaluate, predict; results checked with scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from sklearn.metrics import accuracy_score

from multiout.errors import InputError
from multiout.runtime.build import data_for_checkpoint
from multiout.runtime.checkpoints import load_model
from tests.data.tabular_files import CHANNELS, labelled_frame
from tests.helpers import read_metrics, run_script

pytestmark = pytest.mark.slow

FAST = ["data=tabular", "data.batch_size=64", "trainer.max_epochs=4", "model.net.hidden_sizes=[32]"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One training run on train/val/test files, shared by the tests of this module."""
    root = tmp_path_factory.mktemp("tabular")
    paths = {}
    for split, (n, seed) in {"train": (600, 1), "val": (150, 2), "test": (157, 3)}.items():
        frame = labelled_frame(n, seed)
        if split == "test":
            frame["y_gone"] = np.nan  # a channel with no labels at all in this split
        paths[split] = root / f"{split}.csv"
        frame.to_csv(paths[split], index=False)
    # The predict file has no target columns, and its columns in another order.
    test = pd.read_csv(paths["test"])
    test[["x3", "key", "x0", "x1", "x2", "x4", "x5"]].to_parquet(root / "new.parquet")
    run_dir = root / "train"
    files = [f"data.{s}_path={p}" for s, p in paths.items()]
    result = run_script("train.py", f"hydra.run.dir={run_dir}", *FAST, *files, "data.id_column=key", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, run_dir, test


def test_predictions_come_back_in_label_values_and_match_reported_accuracy(trained, entry):
    root, run_dir, test = trained
    metrics = read_metrics(run_dir)
    pred_dir = root / "predict"
    code, stderr = entry(
        "predict",
        f"hydra.run.dir={pred_dir}",
        f"ckpt_path={metrics['ckpt_path']}",
        f"data.predict_path={root / 'new.parquet'}",
        "save_probabilities=true",
    )
    assert code == 0, stderr[-20:]
    predictions = pd.read_csv(pred_dir / "predictions.csv")
    assert list(predictions.columns[:5]) == ["key", *CHANNELS]
    assert predictions["key"].tolist() == test["key"].tolist()  # input row order
    probabilities = predictions[[f"y_up_prob_{v}" for v in (-1, 0, 1)]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    for c, name in enumerate(CHANNELS):
        assert set(predictions[name]) <= {-1, 0, 1}
        known = test[name].notna()  # dropping the missing cells by hand
        if not known.any():
            assert metrics["test/acc_per_channel"][c] is None  # reported as no labels, not 0 or 1
            continue
        expected = accuracy_score(test.loc[known, name].astype(int), predictions.loc[known, name])
        assert metrics["test/acc_per_channel"][c] == pytest.approx(expected, abs=1e-12)
    report = pd.read_csv(run_dir / "per_channel.csv")
    assert report["channel"].tolist() == CHANNELS
    assert report["support"].tolist()[-1] == 0 and np.isnan(report["acc"].iloc[-1])
    assert (run_dir / "per_channel_accuracy.png").stat().st_size > 0  # part: figures
    assert (run_dir / "per_channel_confusion.png").stat().st_size > 0  # part: figures


def test_evaluate_a_new_test_file_with_the_checkpoint_alone(trained, entry):
    root, run_dir, _ = trained
    metrics = read_metrics(run_dir)
    eval_dir = root / "evaluate"
    args = [f"hydra.run.dir={eval_dir}", f"ckpt_path={metrics['ckpt_path']}"]
    code, stderr = entry("evaluate", *args, f"data.test_path={root / 'test.csv'}")
    assert code == 0, stderr[-20:]
    evaluated = read_metrics(eval_dir)
    assert evaluated["test/acc_per_channel"] == metrics["test/acc_per_channel"]


def test_a_file_that_does_not_match_the_checkpoint_names_both(trained):
    root, run_dir, _ = trained
    ckpt_path = read_metrics(run_dir)["ckpt_path"]
    model = load_model("multiout.models.classifier.MultiOutputClassifier", ckpt_path)
    pd.read_csv(root / "test.csv").drop(columns=["x4"]).to_csv(root / "short.csv", index=False)
    config = OmegaConf.create({"test_path": str(root / "short.csv")})
    with pytest.raises(InputError) as info:
        data_for_checkpoint(model.spec, config, ckpt_path, "test")
    assert "short.csv: feature column 'x4'" in str(info.value) and ckpt_path in str(info.value)
    # Same columns, but one more label value than the checkpoint knows.
    frame = pd.read_csv(root / "test.csv")
    frame.loc[4, "y_down"] = 2
    frame.to_csv(root / "more_labels.csv", index=False)
    config.test_path = str(root / "more_labels.csv")
    with pytest.raises(
        InputError, match=r"'y_down' has label 2\.0, which is not in data\.label_values \[-1, 0, 1\]"
    ):
        data_for_checkpoint(model.spec, config, ckpt_path, "test")


def test_bad_label_stops_training_before_anything_is_written(trained, entry, tmp_path):
    root, _, _ = trained
    frame = pd.read_csv(root / "train.csv")
    frame.loc[10, "y_mid"] = 2
    frame.to_csv(tmp_path / "bad.csv", index=False)
    run_dir = tmp_path / "run"
    args = [f"hydra.run.dir={run_dir}", *FAST, f"data.path={tmp_path / 'bad.csv'}", "data.id_column=key"]
    code, stderr = entry("train", *args)
    assert code == 2
    assert stderr[-1].startswith("error: ")
    assert "target column 'y_mid' has label 2.0" in stderr[-1] and "first at row 11, 1 row)" in stderr[-1]
    assert not (run_dir / "checkpoints").exists() and not (run_dir / "metrics.json").exists()
