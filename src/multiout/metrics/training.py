"""Running training metrics, cheap enough to update on every training step."""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric

from multiout.metrics.per_channel import predicted_classes


class TrainingMetrics(Metric):
    """The epoch's training loss (weighted like the loss itself) and accuracy over labelled cells.

    Four sum-synced totals, so the epoch values are exact over batches and processes. A step
    costs a handful of small tensor ops: the full per-channel confusion counts, which the
    validation and test stages keep, would cost a few percent of a CPU training step.
    """

    full_state_update = False
    is_differentiable = False
    loss_total: Tensor
    loss_weight: Tensor
    correct: Tensor
    labelled: Tensor

    def __init__(self, ignore_index: int = -100) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        for name in ("loss_total", "loss_weight", "correct", "labelled"):
            self.add_state(name, default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, logits: Tensor, target: Tensor, loss: Tensor, weight: Tensor) -> None:
        # A non-finite loss (a skipped batch) stays out of the mean.
        # In place (`add_`): `+=` on a state also runs torchmetrics' `__setattr__`, each step.
        finite = torch.isfinite(loss)
        self.loss_total.add_(torch.where(finite, loss, 0.0) * weight)
        self.loss_weight.add_(finite * weight)
        # A missing label (`ignore_index`, never a class id) never equals a predicted class.
        self.correct.add_((predicted_classes(logits) == target).sum())
        self.labelled.add_((target != self.ignore_index).sum())

    def compute(self) -> dict[str, Tensor]:
        return {
            "loss": (self.loss_total / self.loss_weight).float(),
            "acc": (self.correct / self.labelled).float(),
        }
