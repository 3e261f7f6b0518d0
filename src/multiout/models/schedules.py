"""Optimizer and learning-rate schedule from the model's `_target_` dicts, as Lightning wants them."""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from multiout.models.targets import build, target_class

log = logging.getLogger(__name__)

# Keys of a scheduler config that go to Lightning's `lr_scheduler` dict, not to the class.
LIGHTNING_KEYS = ("interval", "frequency", "monitor")


class WarmupCosine(LambdaLR):
    """Linear warm-up over `warmup_fraction` of the run, then cosine decay to `min_lr_ratio` of
    the base learning rate, stepped once per optimizer step."""

    def __init__(
        self, optimizer: Optimizer, total_steps: int, warmup_fraction: float = 0.0, min_lr_ratio: float = 0.0
    ) -> None:
        self.total_steps = max(1, int(total_steps))
        self.warmup_steps = round(warmup_fraction * self.total_steps)
        self.min_lr_ratio = min_lr_ratio
        super().__init__(optimizer, self.factor)

    def state_dict(self) -> dict[str, Any]:
        # The run's length comes from the trainer, not the checkpoint: a resumed run with more
        # epochs stretches the schedule over them.
        ignored = ("total_steps", "warmup_steps", "min_lr_ratio")
        return {key: value for key, value in super().state_dict().items() if key not in ignored}

    def factor(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_optimizer(
    spec: Mapping[str, Any],
    params: Iterable[nn.Parameter],
    precision: str = "32-true",
    clipping: bool = False,
) -> Optimizer:
    """The optimizer of `spec`, unfused where Lightning cannot run a fused one: it clips gradients
    under mixed precision only if it unscales them itself, which a fused optimizer does instead."""
    if spec.get("fused") and clipping and str(precision).endswith("-mixed"):
        log.info("gradient clipping under %s precision: the optimizer runs unfused", precision)
        spec = {**spec, "fused": False}
    return build(spec, "model.optimizer", params)


def scheduler_class(spec: Mapping[str, Any]) -> type:
    """The class a scheduler config names, its arguments (all but Lightning's keys) checked."""
    return target_class(
        {key: value for key, value in spec.items() if key not in LIGHTNING_KEYS}, "model.scheduler"
    )


def build_scheduler(
    spec: Mapping[str, Any] | None, optimizer: Optimizer, total_steps: int, val_every: int = 1
) -> dict | None:
    """Lightning's `lr_scheduler` dict for `spec`, or None for a constant learning rate.

    `interval` (`step` or `epoch`), `frequency` and `monitor` go to Lightning. A class that takes
    `total_steps` (`WarmupCosine`, `OneCycleLR`) gets the run's optimizer steps and is stepped
    every step; any other, every epoch, unless `interval` says otherwise; one that `monitor`s a
    validation metric (`ReduceLROnPlateau`), every `val_every` epochs, after each validation.
    """
    if not spec:
        return None
    options = {key: value for key, value in spec.items() if key not in LIGHTNING_KEYS}
    per_step = "total_steps" in inspect.signature(scheduler_class(spec)).parameters
    if per_step:
        options.setdefault("total_steps", total_steps)
    scheduler = build(options, "model.scheduler", optimizer)
    lightning: dict[str, Any] = {"interval": "step" if per_step else "epoch"}
    if "monitor" in spec and not per_step:
        lightning["frequency"] = val_every
    lightning.update({key: spec[key] for key in LIGHTNING_KEYS if key in spec})
    return {"scheduler": scheduler, **lightning}
