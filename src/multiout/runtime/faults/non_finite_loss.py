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
from multiout.runtime.lightning_internals import should_update_logs

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
    """Catches a NaN or infinite training loss.

    `stop` (default): raise `NonFiniteLossError` naming the first non-finite step and its
    batch's statistics. The losses stay on the device and are looked at together only on
    logging steps (`trainer.log_every_n_steps`), at epoch ends, before validation and before
    any checkpoint is written: a step reads nothing back to the host, so a GPU never waits
    for it. The weights in memory may then have taken up to `log_every_n_steps` updates
    from the non-finite step on, but no checkpoint holds them: every checkpoint on disk
    predates the first non-finite loss. Until a check, it holds the losses and batches of
    the steps since the last one.
    `skip`: log the same facts and leave the weights and optimizer state untouched for the
    optimizer step of that batch (the learning-rate schedule still advances). Deciding that
    before the optimizer step reads each step's loss to the host.
    """

    def __init__(self, action: str = "stop") -> None:
        if action not in ACTIONS:
            raise InputError(
                f"callbacks.non_finite_loss.action must be one of {list(ACTIONS)}, got {action!r}"
            )
        self.action = action
        self.skipped = 0
        self._batch: Any = None
        self._where = ""
        self._skip_step = False
        # Since the last check: each step's loss (on the device), and where and on what it was.
        self._losses: list[Tensor] = []
        self._steps: list[tuple[str, Any]] = []

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._batch = batch
        self._where = f"step {trainer.global_step} (epoch {trainer.current_epoch}, batch {batch_idx})"

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: Tensor) -> None:
        if self.action == "stop":
            self._losses.append(loss.detach())
            self._steps.append((self._where, self._batch))
            return
        # One number to the host: cheaper on every step than a tensor `isfinite` and `all`.
        value = loss.detach().sum().item() if loss.numel() > 1 else loss.item()
        if self._all_finite(trainer, math.isfinite(value)):
            return
        log.warning(f"skipping the batch: {self._message(trainer, value, self._where, self._batch)}")
        self.skipped += 1
        self._skip_step = True

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Optimizer
    ) -> None:
        if self._skip_step:
            # Optimizers leave parameters without a gradient alone: no update, no moment change.
            # With gradient accumulation this drops the whole step the bad batch was part of.
            optimizer.zero_grad(set_to_none=True)
            self._skip_step = False

    # -- `stop`: the checks

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if should_update_logs(trainer) or trainer.fast_dev_run:  # type: ignore[attr-defined]
            self.check(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer)  # validating NaN weights would only hide the cause

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self.check(trainer)  # raising here keeps the checkpoint from being written

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, NonFiniteLossError):  # reported: checks nothing more
            self._losses, self._steps = [], []
        # Any other stop (SIGTERM, Ctrl-C) keeps them, so that the checkpoint saved on the way
        # out is still checked.

    def check(self, trainer: L.Trainer) -> None:
        """Raise `NonFiniteLossError` if a loss since the last check was not finite: one host
        read (and, under DDP, one all-reduce) for all of them."""
        if not self._losses:
            return
        losses = torch.stack([loss if loss.dim() == 0 else loss.sum() for loss in self._losses])
        steps, self._losses, self._steps = self._steps, [], []
        finite = losses.isfinite()
        if self._all_finite(trainer, bool(finite.all())):
            return
        bad = (~finite).nonzero()
        if not len(bad):  # the loss was on another process, at one of these steps
            where = f"{steps[0][0]} to {steps[-1][0]}".replace(" to step", " to")
            raise NonFiniteLossError(self._message(trainer, math.nan, where, None, on_this=False))
        first = int(bad[0, 0])
        where, batch = steps[first]
        raise NonFiniteLossError(self._message(trainer, float(losses[first]), where, batch))

    @staticmethod
    def _all_finite(trainer: L.Trainer, finite: bool) -> bool:
        # Under DDP a NaN on one process reaches every process's gradients through the
        # all-reduce, and a process that stops alone leaves the others waiting: decide together.
        if trainer.world_size > 1:
            return trainer.strategy.reduce_boolean_decision(finite, all=True)
        return finite

    @staticmethod
    def _message(trainer: L.Trainer, value: float, where: str, batch: Any, on_this: bool = True) -> str:
        if trainer.world_size > 1:
            where += f", process {trainer.global_rank} of {trainer.world_size}"
        if not on_this or math.isfinite(value):
            return f"non-finite training loss (on another process) at {where}"
        return f"non-finite training loss {value} at {where}; batch {describe_batch(batch)}"
