"""Step values on small tables: the logging interval follows the epoch's length."""

from __future__ import annotations

import warnings

import lightning as L
from lightning.pytorch.utilities.warnings import PossibleUserWarning


class StepLogInterval(L.Callback):
    """Logs step values at least once per epoch: where an epoch has fewer training batches
    than `trainer.log_every_n_steps`, the interval becomes the epoch's length, so `metrics.csv`
    still has `train/loss_step` (Lightning would log none and warn about it instead).

    Lightning counts the batches, and warns, when it first loads the training data, before any
    callback hook that could set the interval in time; the warning is therefore silenced (by its
    message), and only while this callback is in use.
    """

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        warnings.filterwarnings(
            "ignore",
            message=r"The number of training batches \(\d+\) is smaller than the logging interval",
            category=PossibleUserWarning,
        )

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        batches = trainer.num_training_batches
        # `log_every_n_steps` is a plain attribute that Lightning reads at every step.
        if isinstance(batches, int) and 0 < batches < getattr(trainer, "log_every_n_steps", 0):
            trainer.log_every_n_steps = batches  # type: ignore[attr-defined]
