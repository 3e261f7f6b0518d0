"""A weighted running mean cheap enough to update on every training step."""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric


class RunningMean(Metric):
    """A sum over batches divided by a sum of weights: exact over batches and processes
    (both sums are sum-synced).

    `update(total=..., weight=...)` takes a batch's already weighted sum (say, the number of
    correct cells) and its weight (the number of labelled cells); keywords only, so that no
    caller can mistake the total for a mean.

    `torchmetrics.MeanMetric` does the same with input casting and NaN checks on every
    update; at thousands of small CPU steps those checks cost more than the step's metrics.
    """

    full_state_update = False
    is_differentiable = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("weight", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, *, total: Tensor, weight: Tensor) -> None:
        self.total += total
        self.weight += weight

    def compute(self) -> Tensor:
        return (self.total / self.weight).float()
