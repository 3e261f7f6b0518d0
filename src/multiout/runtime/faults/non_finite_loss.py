"""A NaN or infinite loss stops the run with the facts, or its batch is skipped."""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor
from torch.optim import Optimizer

from multiout.errors import InputError

log = logging.getLogger(__name__)

ACTIONS = ("stop", "skip")


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the message says where and on what batch."""


def describe_batch(batch: Any) -> str:
    """Shape, range, mean and non-finite count of every tensor in the batch."""
    tensors = batch if isinstance(batch, (tuple, list)) else [batch]
    parts = []
    names = ["x", "y", *(f"batch[{i}]" for i in range(2, len(tensors)))][: len(tensors)]
    for name, t in zip(names, tensors, strict=True):
        if not isinstance(t, Tensor):
            continue
        t = t.detach()
        finite = t[torch.isfinite(t)] if t.is_floating_point() else t
        bad = t.numel() - finite.numel()
        stats = f"{name} {list(t.shape)} {t.dtype}: {bad} non-finite"
        if finite.numel():
            f = finite.double()
            stats += f", min {f.min().item():.4g}, max {f.max().item():.4g}, mean {f.mean().item():.4g}"
        parts.append(stats)
    return "; ".join(parts)


class NonFiniteLoss(Callback):
    """Checks each training loss before its backward pass.

    `stop` (default): raise `NonFiniteLossError` naming the step and the batch's statistics,
    before the optimizer can write NaN into the weights, so the last checkpoint stays good.
    `skip`: log the same facts and leave the weights and optimizer state untouched for the
    optimizer step of that batch (the learning-rate schedule still advances).
    """

    def __init__(self, action: str = "stop") -> None:
        if action not in ACTIONS:
            raise InputError(
                f"callbacks.non_finite_loss.action must be one of {list(ACTIONS)}, got {action!r}"
            )
        self.action = action
        self.skipped = 0
        self._batch: Any = None
        self._batch_idx = 0
        self._skip_step = False

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._batch, self._batch_idx = batch, batch_idx

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: Tensor) -> None:
        # One number to the host: cheaper on every step than a tensor `isfinite` and `all`.
        value = loss.detach().sum().item() if loss.numel() > 1 else loss.item()
        finite = math.isfinite(value)
        # Under DDP a NaN on one process reaches every process's gradients through the
        # all-reduce, and a process that stops alone leaves the others waiting: decide together.
        if trainer.world_size > 1:
            finite = trainer.strategy.reduce_boolean_decision(finite, all=True)
        if finite:
            return
        where = f"step {trainer.global_step} (epoch {trainer.current_epoch}, batch {self._batch_idx})"
        if trainer.world_size > 1:
            where += f", process {trainer.global_rank} of {trainer.world_size}"
        shown = f"{value}" if not math.isfinite(value) else "(on another process)"
        message = f"non-finite training loss {shown} at {where}; batch {describe_batch(self._batch)}"
        if self.action == "stop":
            raise NonFiniteLossError(message)
        self.skipped += 1
        self._skip_step = True
        log.warning(f"skipping the batch: {message}")

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Optimizer
    ) -> None:
        if self._skip_step:
            # Optimizers leave parameters without a gradient alone: no update, no moment change.
            # With gradient accumulation this drops the whole step the bad batch was part of.
            optimizer.zero_grad(set_to_none=True)
            self._skip_step = False
