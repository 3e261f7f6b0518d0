"""Train, then validate and test the best checkpoint."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L

from multiout.models.classifier import MultiOutputClassifier
from multiout.tasks.summary import collect_metrics

log = logging.getLogger(__name__)


def best_checkpoint(trainer: L.Trainer) -> str | None:
    """The best checkpoint the run saved, or None (no checkpoint callback, fast_dev_run)."""
    callback = trainer.checkpoint_callback
    path = getattr(callback, "best_model_path", "") if callback is not None else ""
    return path or None


def train(
    trainer: L.Trainer,
    model: MultiOutputClassifier,
    datamodule: L.LightningDataModule,
    *,
    ckpt_path: str | None = None,
    fit: bool = True,
    test: bool = True,
) -> dict[str, Any]:
    """Fit (resuming from `ckpt_path` if given), then score the best checkpoint.

    Validation is re-run on the checkpoint that is tested, so that `val/*` and `test/*` in
    the result describe the same weights. Returns the flat metrics plus `ckpt_path`.
    """
    tested_ckpt = ckpt_path
    if fit:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        tested_ckpt = best_checkpoint(trainer)
        if tested_ckpt is None:
            log.warning("no best checkpoint was saved; scoring the weights as they are after training")
    stages: tuple[str, ...] = ()
    if test:
        # weights_only: a checkpoint is only tensors and plain values; loading never runs code.
        trainer.validate(
            model, datamodule=datamodule, ckpt_path=tested_ckpt, verbose=False, weights_only=True
        )
        trainer.test(model, datamodule=datamodule, ckpt_path=tested_ckpt, verbose=False, weights_only=True)
        stages = ("val", "test")
    elif fit:
        stages = ("val",)
    return {**collect_metrics(model.results, stages, datamodule), "ckpt_path": tested_ckpt}
