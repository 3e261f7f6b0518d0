"""Flat final metrics of a run, as written to `metrics.json`."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L

log = logging.getLogger(__name__)


def collect_metrics(
    model: L.LightningModule, datamodule: L.LightningDataModule, stages: tuple[str, ...]
) -> dict[str, Any]:
    """`{stage}/loss`, `{stage}/acc`, `{stage}/acc_per_channel` and, where the data knows it,
    `{stage}/bayes_acc`, for each stage that has finished an epoch."""
    metrics: dict[str, Any] = {}
    bayes = getattr(datamodule, "bayes_acc", {})
    for stage in stages:
        result = model.epoch_results.get(stage)
        if result is None:
            continue
        metrics[f"{stage}/loss"] = result["loss"]
        metrics[f"{stage}/acc"] = result["acc"]
        metrics[f"{stage}/acc_per_channel"] = result["acc_per_channel"]
        if stage in bayes:
            metrics[f"{stage}/bayes_acc"] = bayes[stage]
    return metrics


def log_summary(metrics: dict[str, Any]) -> None:
    """One line per stage: mean accuracy, and how close it is to the Bayes-optimal one."""
    for stage in ("val", "test"):
        if f"{stage}/acc" not in metrics:
            continue
        line = f"{stage}/acc = {metrics[f'{stage}/acc']:.4f}, {stage}/loss = {metrics[f'{stage}/loss']:.4f}"
        if f"{stage}/bayes_acc" in metrics:
            bayes = metrics[f"{stage}/bayes_acc"]
            line += f" | Bayes-optimal {bayes:.4f} ({metrics[f'{stage}/acc'] / bayes:.1%} of it)"
        log.info(line)
