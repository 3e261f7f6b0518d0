"""Dropout and every other random draw in a training step, fixed by where training is."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from multiout.data.batching import derived_seed


def step_seed(seed: int, epoch: int, batch: int, rank: int) -> int:
    """A seed that depends only on (seed, epoch, batch index in the epoch, process rank)."""
    return derived_seed(seed, epoch, batch, rank)


class StepSeed(Callback):
    """Seeds torch before every training batch from (`seed`, epoch, batch index, rank).

    A run resumed from any checkpoint, at an epoch end or mid-epoch, then draws the same
    dropout masks as a run that never stopped, without keeping RNG states in checkpoints.
    Draws between batches, such as the one each new DataLoader iterator takes, differ
    between the two runs; reseeding here keeps them from reaching the training step. The
    batch index, not the optimizer step, keys the seed, so that batches accumulated into
    one step get masks of their own.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        seed = step_seed(self.seed, trainer.current_epoch, batch_idx, trainer.global_rank)
        # Only the generators this step draws from: `torch.manual_seed` visits every device
        # type's generator and costs about 100x more, which shows at thousands of steps.
        torch.default_generator.manual_seed(seed)
        if pl_module.device.type == "cuda":
            torch.cuda.manual_seed(seed)  # the generator of this process's own GPU
