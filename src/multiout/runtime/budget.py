"""The training budget: how long a run trains and how often it validates, one rule for a
250-row table and a table of millions.

Counting epochs alone fails small tables: 250 rows are one batch, so 20 epochs are 20 optimizer
steps, and early stopping after 5 epochs without progress ends a run after a handful. So, when
`trainer.max_epochs` and `trainer.max_steps` are unset (the default):

- a small table is cut into at least `min_batches` batches an epoch (of at least
  `min_batch_size` rows; `data.batch_size` stays the largest): a step costs less there, and
  an epoch is more than one step;
- the run takes `budget.epochs` epochs, or more where those are fewer optimizer steps than the
  trunk needs (`budget.min_steps`, which its config in `conf/model/net/` says);
- it validates every epoch, or every few epochs where an epoch is shorter than
  `min_steps / validations` steps: at least `validations` validations in any run;
- early stopping's patience counts those validations, and cannot end a run before `min_steps`.

On a large table (`epochs` epochs of at least `min_steps / validations` steps) that is exactly
Lightning's counting with `max_epochs=epochs`. `trainer.max_epochs=N` (or `max_steps`) runs
exactly that, counted Lightning's way. Measurements behind the numbers:
docs/experiments.md#the-training-budget.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import lightning as L

from multiout.data.spec import DataSpec
from multiout.errors import InputError
from multiout.runtime.lightning_internals import set_run_length

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budget:
    """A run's length in epochs, the epochs between two validations, and the optimizer steps of
    an epoch."""

    epochs: int
    val_every: int
    steps_per_epoch: int

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def plan_budget(steps_per_epoch: int, epochs: int, min_steps: int, validations: int) -> Budget:
    """The budget for epochs of `steps_per_epoch` optimizer steps (see the module's docstring)."""
    for name, value in (
        ("budget.epochs", epochs),
        ("budget.min_steps", min_steps),
        ("budget.validations", validations),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"{name} must be a positive integer, got {value!r}")
    val_every = math.ceil(min_steps / validations / steps_per_epoch)
    run = max(epochs, math.ceil(min_steps / steps_per_epoch))
    # Whole validation intervals, so that the last epoch is validated too.
    return Budget(math.ceil(run / val_every) * val_every, val_every, steps_per_epoch)


def small_table_batch(rows: int, batch_size: int, min_batches: int, min_batch_size: int) -> int:
    """`batch_size`, or less where `rows` make fewer than `min_batches` such batches: rows /
    `min_batches`, but at least `min_batch_size` rows."""
    return min(batch_size, max(min_batch_size, rows // min_batches))


def training_rows(spec: DataSpec) -> int | None:
    """The training examples, as their label counts show: the labelled examples of the most
    complete channel (every example, unless each channel misses some labels)."""
    counts = spec.output.label_counts
    return max(sum(channel) for channel in counts) if counts else None


def apply_budget(
    trainer: L.Trainer, datamodule: L.LightningDataModule, spec: DataSpec, budget: Any
) -> Budget | None:
    """Set `trainer`'s run length and validation spacing from `budget` (the `budget` config:
    `epochs`, `min_steps`, `validations`), unless the trainer was given its own length
    (`max_epochs`, `max_steps`) or is a debugging run that cuts epochs short; or `budget` is null."""
    if not budget or trainer.max_epochs is not None or trainer.max_steps != -1:
        return None
    rows, configured = training_rows(spec), getattr(datamodule, "batch_size", None)
    if epochs_cut_short(trainer) or not rows or not isinstance(configured, int):
        log.info(f"training budget: off (a debugging run, or data of unknown size): {budget.epochs} epochs")
        set_run_length(trainer, budget.epochs, val_every=trainer.check_val_every_n_epoch or 1)
        return None
    batch_size = small_table_batch(rows, configured, budget.min_batches, budget.min_batch_size)
    if batch_size != configured:
        log.info(f"training budget: batches of {batch_size} rows (data.batch_size={configured})")
        datamodule.batch_size = batch_size  # type: ignore[attr-defined]  # the loaders read it
    batches = math.ceil(rows / (batch_size * trainer.world_size))
    steps_per_epoch = math.ceil(batches / trainer.accumulate_grad_batches)
    plan = plan_budget(steps_per_epoch, budget.epochs, budget.min_steps, budget.validations)
    set_run_length(trainer, plan.epochs, budget.min_steps, plan.val_every)
    log.info(
        f"training budget: {plan.epochs} epochs of {steps_per_epoch} optimizer steps, {plan.steps} steps "
        f"(budget.epochs={budget.epochs}, budget.min_steps={budget.min_steps}), "
        f"a validation every {plan.val_every} epoch(s)"
    )
    return plan


def epochs_cut_short(trainer: L.Trainer) -> bool:
    """A debugging run whose epochs are not the data's (`fast_dev_run`, `overfit_batches`,
    `limit_train_batches`): the budget leaves it alone."""
    cut = (getattr(trainer, name) for name in ("fast_dev_run", "overfit_batches"))
    return any(cut) or trainer.limit_train_batches != 1.0
