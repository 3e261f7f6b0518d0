"""What a stage's confusion counts mean: the one place to add a metric.

`PER_CHANNEL` maps a metric's name to a function of the confusion counts `[C, K, K]` that
returns one value per channel `[C]` (NaN where a channel has no labels). Everything downstream
reads the `StageResult` built from it: the logged values (`val/<name>` is the mean over
channels, `val/<name>/<channel>` each channel), `metrics.json` (`test/<name>` and
`test/<name>_per_channel`), the per-channel report's table and CSV, and what reads those.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from multiout.metrics.per_channel import PerChannelConfusionMatrix, per_channel_accuracy, per_channel_macro_f1

PER_CHANNEL: dict[str, Callable[[Tensor], Tensor]] = {
    "acc": per_channel_accuracy,
    "macro_f1": per_channel_macro_f1,
}


@dataclass
class StageResult:
    """One finished epoch of a stage (`val`, `test`): its loss and per-channel metrics."""

    loss: float
    per_channel: dict[str, list[float]]  # metric name -> one value per channel (NaN: no labels)
    confmat: Tensor  # [C, K, K] counts, rows true and columns predicted classes

    def means(self) -> dict[str, float]:
        """Each metric's mean over the channels that have labels."""
        return {name: _nanmean(values) for name, values in self.per_channel.items()}

    def logged(self, stage: str, channel_names: list[str]) -> dict[str, float]:
        """`{stage}/loss`, `{stage}/<name>` (the mean) and `{stage}/<name>/<channel>`: what is logged."""
        values = {f"{stage}/loss": self.loss}
        values.update({f"{stage}/{name}": mean for name, mean in self.means().items()})
        for name, per_channel in self.per_channel.items():
            values.update(
                {f"{stage}/{name}/{ch}": v for ch, v in zip(channel_names, per_channel, strict=True)}
            )
        return values

    def flat(self, stage: str) -> dict[str, Any]:
        """`{stage}/loss`, `{stage}/<name>` and `{stage}/<name>_per_channel`: `metrics.json`'s keys."""
        flat: dict[str, Any] = {f"{stage}/loss": self.loss}
        for name, mean in self.means().items():
            flat[f"{stage}/{name}"] = mean
            flat[f"{stage}/{name}_per_channel"] = self.per_channel[name]
        return flat


def stage_result(confmat: Tensor, loss: Tensor) -> StageResult:
    """Every metric of `PER_CHANNEL`, from counts summed over all batches and processes."""
    confmat = confmat.cpu()
    per_channel = {name: metric(confmat).tolist() for name, metric in PER_CHANNEL.items()}
    return StageResult(loss=float(loss), per_channel=per_channel, confmat=confmat)


def _nanmean(values: list[float]) -> float:
    present = [v for v in values if not math.isnan(v)]
    return math.fsum(present) / len(present) if present else math.nan


class EvalMetrics(PerChannelConfusionMatrix):
    """A validation or test stage's confusion counts and loss over an epoch: `compute` gives its
    `StageResult`. All states are sums, so the result is exact across batches and processes."""

    loss_total: Tensor
    loss_weight: Tensor

    def __init__(self, num_channels: int, num_classes: int, ignore_index: int = -100) -> None:
        super().__init__(num_channels, num_classes, ignore_index)
        for name in ("loss_total", "loss_weight"):
            self.add_state(name, default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, logits: Tensor, target: Tensor, loss: Tensor, weight: Tensor) -> None:  # type: ignore[override]
        super().update(logits, target)
        # Weighted by labelled cells, so the epoch loss is exact however batches are cut.
        self.loss_total += loss.detach() * weight
        self.loss_weight += weight

    def compute(self) -> StageResult:  # type: ignore[override]
        loss = self.loss_total / self.loss_weight.clamp(min=torch.finfo(torch.float64).tiny)
        return stage_result(super().compute(), loss)
