"""Test a trained checkpoint on the test split."""

from __future__ import annotations

from typing import Any

import lightning as L

from multiout.models.classifier import MultiOutputClassifier
from multiout.tasks.summary import collect_metrics


def evaluate(
    trainer: L.Trainer, model: MultiOutputClassifier, datamodule: L.LightningDataModule, ckpt_path: str
) -> dict[str, Any]:
    """Score `model` (already loaded from `ckpt_path`) on the test split."""
    trainer.test(model, datamodule=datamodule, verbose=False)
    return {**collect_metrics(model.results, ("test",), datamodule), "ckpt_path": ckpt_path}
