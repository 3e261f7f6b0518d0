"""A metric added in one place (`PER_CHANNEL`) reaches every output of a run."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from sklearn.metrics import cohen_kappa_score
from torch import Tensor

from multiout.metrics.results import PER_CHANNEL
from multiout.models.classifier import MultiOutputClassifier
from multiout.runtime.build import build
from multiout.runtime.run import run_train
from multiout.tools.compare import find_runs, summarize  # part: compare
from tests.helpers import compose_train


def per_channel_kappa(confmat: Tensor) -> Tensor:
    """Cohen's kappa per channel `[C]` from confusion counts `[C, K, K]`: the docs/adapt.md example."""
    counts = confmat.double()
    total = counts.sum(dim=(1, 2))
    observed = counts.diagonal(dim1=1, dim2=2).sum(dim=1) / total
    expected = (counts.sum(dim=2) * counts.sum(dim=1)).sum(dim=1) / total**2
    return (observed - expected) / (1 - expected)


def test_a_metric_added_in_one_place_reaches_logs_metrics_json_report_and_compare(tmp_path, monkeypatch):
    monkeypatch.setitem(PER_CHANNEL, "kappa", per_channel_kappa)  # the one edit
    cfg = compose_train(
        "trainer.max_epochs=2", "data.num_samples=1500", "data.num_channels=5", "data.batch_size=64",
        "callbacks.rich_progress_bar=null",
        "callbacks.per_channel_report.figures=false",  # part: figures
        "trainer.enable_progress_bar=false", output_dir=tmp_path,
    )  # fmt: skip
    run_train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())

    # Independently: the tested checkpoint's predictions on the test rows, scored by sklearn.
    model = MultiOutputClassifier.load_from_checkpoint(metrics["ckpt_path"], weights_only=True).eval()
    data = build(cfg.data)
    data.setup("test")
    x, y = data.splits["test"]
    with torch.no_grad():
        predicted = model(x).argmax(dim=1)
    expected = [cohen_kappa_score(y[:, c].numpy(), predicted[:, c].numpy()) for c in range(5)]
    assert metrics["test/kappa_per_channel"] == pytest.approx(expected, abs=1e-9)
    assert metrics["test/kappa"] == pytest.approx(sum(expected) / 5, abs=1e-9)
    assert "val/kappa" in metrics

    with open(tmp_path / "csv" / "metrics.csv") as f:
        logged = list(csv.DictReader(f))
    assert {"val/kappa", "val/kappa/ch00", "test/kappa"} <= set(logged[0])
    with open(tmp_path / "per_channel.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(row["kappa"]) for row in rows] == pytest.approx(expected, abs=1e-9)

    # part: compare
    _, table = summarize(find_runs(tmp_path), tmp_path, ("test/kappa",), "test/kappa")
    assert table[0]["test/kappa mean"] == pytest.approx(metrics["test/kappa"])
    # end part
