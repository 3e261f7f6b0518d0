"""Report the optimized metric of every validation epoch to the job's Optuna trial, and stop
training early when the study's pruner says the trial will not beat the others.

Set up by `conf/hparams_search/optuna.yaml` for the jobs of a search; in a plain run (no
trial number) it does nothing. Under DDP only the first process talks to the storage and
the others follow its decision, as in optuna-integration's PyTorchLightningPruningCallback.
Unlike that callback it never raises: the job stops like an early-stopped run (its best
checkpoint is still validated, tested and written), and the sweeper, seeing the
`pruned_at_epoch` mark, records the trial as PRUNED.
"""

from __future__ import annotations

import logging

import lightning as L
import optuna
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn

from multiout.errors import InputError
from multiout.hparams_search.study import PRUNED_AT_EPOCH, job_trial

log = logging.getLogger(__name__)


class OptunaPruning(Callback):
    def __init__(
        self,
        monitor: str,
        storage: str | None = None,
        study_name: str | None = None,
        trial_number: int | None = None,
        pruner: optuna.pruners.BasePruner | None = None,
    ) -> None:
        self.monitor = monitor
        self.storage, self.study_name, self.trial_number = storage, study_name, trial_number
        self.pruner = pruner
        self._trial: optuna.Trial | None = None  # opened on first use, by the first process only

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Not the sanity check, nor the validation of the best checkpoint after fitting.
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING or self.trial_number is None:
            return
        epoch = trainer.current_epoch
        value = self._value(trainer)  # on every process: a missing metric stops them all alike
        decision, failure = "go on", None
        if trainer.is_global_zero:  # only the first process talks to the storage
            try:
                decision = "prune" if self._report(value, epoch) else "go on"
            except Exception as err:  # the others wait in the broadcast below: tell them, then raise
                decision, failure = "failed", err
        decision = trainer.strategy.broadcast(decision, src=0)
        if decision == "failed":
            raise failure or RuntimeError("the first process could not report to the Optuna trial")
        if decision == "prune":
            trainer.should_stop = True

    def _report(self, value: float, epoch: int) -> bool:
        """Reports `value` at `epoch` to the trial; whether the pruner stops it there."""
        trial = self._open()
        trial.report(value, step=epoch)
        if not trial.should_prune():
            return False
        trial.set_user_attr(PRUNED_AT_EPOCH, epoch)
        log.info(f"trial {self.trial_number} pruned at epoch {epoch} ({self.monitor}={value:.4f})")
        return True

    def _value(self, trainer: L.Trainer) -> float:
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            raise InputError(
                f"optimized_metric: {self.monitor!r} is not logged at validation; "
                f"logged: {sorted(trainer.callback_metrics)}"
            )
        return float(value)

    def _open(self) -> optuna.Trial:
        if self._trial is None:
            if self.storage is None or self.study_name is None:
                raise InputError("optuna_trial: a trial number needs its storage and study_name")
            self._trial = job_trial(self.storage, self.study_name, self.trial_number or 0, self.pruner)
        return self._trial
