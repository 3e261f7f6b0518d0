"""A run's flat final metrics, as `metrics.json` holds them, and their summary lines."""

from __future__ import annotations

import logging
from typing import Any

from multiout.metrics.results import StageResult

log = logging.getLogger(__name__)


def collect_metrics(
    results: dict[str, StageResult], stages: tuple[str, ...], datamodule: Any
) -> dict[str, Any]:
    """The flat metrics of each of `stages` that has finished an epoch, and what the data module
    knows of them (`reference_metrics()`, e.g. the Bayes-optimal accuracy of synthetic data)."""
    metrics: dict[str, Any] = {}
    known: dict[str, float] = getattr(datamodule, "reference_metrics", dict)()
    for stage in stages:
        if stage in results:
            metrics.update(results[stage].flat(stage))
            metrics.update({k: v for k, v in known.items() if k.startswith(f"{stage}/")})
    return metrics


def log_summary(metrics: dict[str, Any]) -> None:
    """One line per stage: its loss and the mean of each metric."""
    for stage in ("val", "test"):
        if f"{stage}/loss" not in metrics:
            continue
        names = [n for n in metrics if n.startswith(f"{stage}/") and not n.endswith("_per_channel")]
        shown = sorted(names, key=lambda n: (n != f"{stage}/acc", n))
        log.info(", ".join(f"{name} = {metrics[name]:.4f}" for name in shown if _is_number(metrics[name])))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
