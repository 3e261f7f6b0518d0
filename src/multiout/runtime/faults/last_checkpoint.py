"""`last.ckpt` where epoch-end checkpoints cannot help: mid-epoch, and on SIGTERM."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from multiout.errors import InputError
from multiout.runtime import storage

log = logging.getLogger(__name__)


class LastCheckpoint(Callback):
    """Writes `<dirpath>/last.ckpt` every `every_n_train_steps` optimizer steps (0: never),
    and when the process gets SIGTERM, which schedulers such as SLURM send before a kill.

    On SIGTERM Lightning finishes the current batch and stops; the checkpoint written then
    is resumed with `resume=auto`. The end-of-epoch `last.ckpt` is `ModelCheckpoint`'s job.
    """

    def __init__(self, dirpath: str, every_n_train_steps: int = 0, on_sigterm: bool = True) -> None:
        if every_n_train_steps < 0:
            raise InputError(
                f"callbacks.last_checkpoint.every_n_train_steps must be 0 (off) or more, got {every_n_train_steps}"
            )
        self.dirpath = str(dirpath)
        self.path = storage.join(dirpath, "last.ckpt")
        self.every_n_train_steps = every_n_train_steps
        self.on_sigterm = on_sigterm
        self._saved_step = -1

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        every, step = self.every_n_train_steps, trainer.global_step
        # Once per optimizer step: under gradient accumulation several batches end at the same
        # step, and a save between them would lose the gradients accumulated so far.
        if every and step and step % every == 0 and step != self._saved_step and not trainer.fast_dev_run:  # type: ignore[attr-defined]
            self._saved_step = step
            trainer.save_checkpoint(self.path)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if (
            self.on_sigterm
            and isinstance(exception, SIGTERMException)
            and trainer.state.fn == TrainerFn.FITTING
        ):
            trainer.save_checkpoint(self.path)
            log.warning(f"SIGTERM: saved {self.path} at step {trainer.global_step}")
