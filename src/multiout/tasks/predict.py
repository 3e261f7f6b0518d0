"""Predict labels for the rows of a file with a trained checkpoint."""

from __future__ import annotations

import lightning as L

from multiout.errors import InputError


def predict(trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule) -> None:
    """Run `model` over the data module's predict split; the trainer's prediction writer
    callback writes the file as batches come, so nothing is gathered in memory."""
    if trainer.world_size > 1 and not getattr(datamodule, "predicts_in_rank_order", False):
        raise InputError(
            "this data module predicts in one process, so rows stay in file order; set trainer.devices=1"
            " (data=stream predicts with several)"  # part: stream
        )
    trainer.predict(model, datamodule=datamodule, return_predictions=False)
