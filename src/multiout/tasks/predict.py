"""Predict labels for the rows of a file with a trained checkpoint."""

from __future__ import annotations

import lightning as L

from multiout.errors import InputError


def predict(trainer: L.Trainer, model: L.LightningModule, datamodule: L.LightningDataModule) -> None:
    """Run `model` over the data module's predict split; the trainer's prediction writer
    callback writes the file as batches come, so nothing is gathered in memory."""
    if trainer.world_size > 1:
        raise InputError("predict runs in one process, so rows stay in file order; set trainer.devices=1")
    trainer.predict(model, datamodule=datamodule, return_predictions=False)
