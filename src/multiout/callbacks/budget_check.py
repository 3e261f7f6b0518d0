"""One warning line when a run had too short a budget: it ended with fewer optimizer steps than
its trunk needs, or early stopping ended it while the monitored metric was still rising."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn

from multiout.runtime.budget import epochs_cut_short

log = logging.getLogger(__name__)


def still_rising(best: float, since: Sequence[float], mode: str = "max") -> bool:
    """Whether the validations `since` the `best` one were climbing: the last is the highest of
    them, their least-squares line rises clearly above their noise (slope at least twice its
    standard error), and extended as far again it reaches `best`. Noise around a plateau, a
    dip and back, or a fall are not climbing."""
    n = len(since)
    if n < 3:
        return False
    sign = 1.0 if mode == "max" else -1.0
    ys = [sign * value for value in since]
    x_mean, y_mean = (n - 1) / 2, sum(ys) / n
    spread = sum((x - x_mean) ** 2 for x in range(n))
    slope = sum((x - x_mean) * (y - y_mean) for x, y in enumerate(ys)) / spread
    residuals = sum((y - y_mean - slope * (x - x_mean)) ** 2 for x, y in enumerate(ys))
    clear = slope > 2 * math.sqrt(residuals / (n - 2) / spread)
    return ys[-1] >= max(ys) and clear and y_mean + slope * (n - 1 - x_mean + n) >= sign * best


def ended_early(trainer: L.Trainer) -> bool:
    """Whether fitting ended before the trainer's step and epoch limits (early stopping, a pruner)."""
    steps_left = trainer.max_steps == -1 or trainer.global_step < trainer.max_steps
    epochs_left = trainer.max_epochs in (None, -1) or trainer.current_epoch < trainer.max_epochs
    return steps_left and epochs_left


class BudgetCheck(L.Callback):
    """Logs one warning line at the end of fitting, saying what to change, when

    - the run took fewer optimizer steps than `min_steps` (the trunk's need, `budget.min_steps`),
    - or early stopping ended it while `monitor` was still rising (see `still_rising`).

    Debugging runs that cut epochs short (`fast_dev_run`, `limit_train_batches`, ...) are not
    checked."""

    def __init__(self, min_steps: int | None = None, monitor: str = "val/acc", mode: str = "max") -> None:
        self.min_steps, self.monitor, self.mode = min_steps, monitor, mode
        self.history: list[float] = []  # the monitored value of each validation while fitting

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None:
            self.history.append(float(value))

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero and not epochs_cut_short(trainer) and (message := self.warning(trainer)):
            log.warning(message)

    def warning(self, trainer: L.Trainer) -> str | None:
        """The line to log for this finished fit, or None."""
        stopper = trainer.early_stopping_callback
        stopped = stopper is not None and stopper.wait_count >= stopper.patience and ended_early(trainer)
        patience = f"callbacks.early_stopping.patience (now {stopper.patience})" if stopper else ""
        steps = trainer.global_step
        if self.min_steps and steps < self.min_steps:
            fix = (
                f"raise {patience}"
                if stopped
                else "leave trainer.max_epochs and max_steps unset, or raise them"
            )
            return (
                f"the run ended after {steps} optimizer steps, fewer than the {self.min_steps} its trunk "
                f"needs (budget.min_steps, from model.net.min_steps); {fix}"
            )
        if stopper is None or not stopped:
            return None
        best, *since = self.history[-(stopper.wait_count + 1) :]
        if not still_rising(best, since, self.mode):
            return None
        values = " ".join(f"{value:.4f}" for value in since)
        return (
            f"early stopping ended the run at step {steps} while {self.monitor} was still rising "
            f"(best {best:.4f}, then {values}); raise {patience}"
        )
