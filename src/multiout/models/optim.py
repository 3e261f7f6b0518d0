"""Optimizer and learning-rate schedule from plain config dicts.

The module keeps these as dicts in its hyperparameters (checkpoints stay loadable with
`weights_only=True`) and builds the torch objects only in `configure_optimizers`.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from multiout.errors import InputError

log = logging.getLogger(__name__)

SCHEDULERS = ("cosine", "plateau")


def optimizer_class(config: dict[str, Any]) -> type[Optimizer]:
    """The `torch.optim` class that `config["name"]` names, checked against the other keys.

    Called when the model is built, so that a misspelt name or an option the class does not
    take fails before Lightning starts, not once training is set up.
    """
    name = config.get("name")
    found = getattr(torch.optim, str(name), None)
    if not (isinstance(found, type) and issubclass(found, Optimizer)):
        raise InputError(f"model.optimizer.name must name a class in torch.optim (e.g. AdamW), got {name!r}")
    accepted = inspect.signature(found).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(config) - {"name"} - set(accepted))
        if unknown:
            raise InputError(
                f"model.optimizer: {name} takes no option {', '.join(unknown)} "
                f"(drop it with ~model.optimizer.{unknown[0]}); it takes {sorted(set(accepted) - {'params'})}"
            )
    return found


def check_scheduler(config: dict[str, Any] | None) -> None:
    if config and config.get("name") not in SCHEDULERS:
        raise InputError(
            f"model.scheduler.name must be one of {list(SCHEDULERS)} (or set model.scheduler=null), got {config.get('name')!r}"
        )


def build_optimizer(params: Iterable[nn.Parameter], config: dict[str, Any]) -> Optimizer:
    """`{"name": "AdamW", "lr": 1e-3, ...}` -> `torch.optim.AdamW(params, lr=1e-3, ...)`."""
    options = dict(config)
    name = options.pop("name", None)
    optimizer_cls = optimizer_class(config)
    if options.get("fused") and options.get("foreach"):
        raise InputError("model.optimizer: fused and foreach cannot both be true; drop one of them")
    try:
        return optimizer_cls(params, **options)
    except (TypeError, ValueError, RuntimeError) as err:
        raise InputError(f"model.optimizer: {name}({_options_text(options)}) failed: {err}") from err


def _options_text(options: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in sorted(options.items()))


def adapted_to_trainer(
    config: dict[str, Any], precision: str, gradient_clip_val: float | None
) -> dict[str, Any]:
    """The optimizer config, unfused where Lightning cannot run a fused optimizer.

    Lightning clips gradients under mixed precision only with an optimizer that leaves the
    unscaling of gradients to it, which a fused one does not: for that combination the
    optimizer runs unfused (slower per step, the same updates).
    """
    if config.get("fused") and gradient_clip_val and str(precision).endswith("-mixed"):
        log.info("gradient clipping under %s precision: the optimizer runs unfused", precision)
        return {**config, "fused": False}
    return dict(config)


def warmup_cosine(total_steps: int, warmup_steps: int, min_lr_ratio: float):
    """LR factor per step: linear warm-up, then cosine decay to `min_lr_ratio`."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def build_scheduler(optimizer: Optimizer, config: dict[str, Any] | None, total_steps: int) -> dict | None:
    """A Lightning `lr_scheduler` config dict, or None for a constant learning rate."""
    if not config:
        return None
    check_scheduler(config)
    options = dict(config)
    name = options.pop("name")
    if name == "cosine":
        warmup = round(options.pop("warmup_fraction", 0.0) * total_steps)
        factor = warmup_cosine(total_steps, warmup, options.pop("min_lr_ratio", 0.0))
        scheduler, interval = LambdaLR(optimizer, factor), "step"
    else:  # plateau
        monitor = options.pop("monitor", "val/loss")
        scheduler = ReduceLROnPlateau(optimizer, **options)
        return {"scheduler": scheduler, "interval": "epoch", "monitor": monitor}
    if options:
        raise InputError(f"model.scheduler: unknown options for {name}: {sorted(options)}")
    return {"scheduler": scheduler, "interval": interval}
