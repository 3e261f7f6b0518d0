"""SIGTERM ends a run on every process at the same point, after a whole optimizer step."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn

from multiout.runtime.lightning_internals import set_received_sigterm, should_update_logs


class SigtermAtStepEnd(Callback):
    """Takes over SIGTERM from Lightning, so that no process waits for ever for the others.

    Lightning's own handler runs a collective (a broadcast) inside the signal handler. Under
    DDP a process interrupted inside another collective (a gradient all-reduce, the
    non-finite loss check) then broadcasts while its peers do something else, and every
    process waits for ever: the run never saves its checkpoint nor exits, and a scheduler
    that requeues on exit 143 never requeues it. Lightning's flag is also read by each
    process on its own, so processes signalled a moment apart could stop at different steps.

    The handler here only notes the signal and passes it on to the processes Lightning
    started, as Lightning's does. The processes agree on it (one all-reduce, under DDP only)
    at points every process reaches together, and only then raise Lightning's flag, which
    Lightning acts on at once: `SIGTERMException`, `on_exception` (where `LastCheckpoint`
    saves `last.ckpt`), exit 143. While fitting, those points are the end of each optimizer
    step (not inside a gradient-accumulation window, whose gradients would be lost; under
    DDP only the logging steps of `trainer.log_every_n_steps`, so that other steps never wait
    for the GPU) and the end of each epoch, after its validation, which always runs whole;
    in a validation or test run, the end of each batch.
    """

    def __init__(self) -> None:
        self.signalled = False
        self._step = -1  # global step at the last agreement while fitting
        self._held = False  # Lightning's flag, held back while a validation inside fitting runs

    # -- taking over: Lightning installs its handler when a run starts and restores the
    # previous one when it ends, which also removes this one.

    def _take_over(self, trainer: L.Trainer) -> None:
        self.signalled = self.signalled or trainer.received_sigterm
        set_received_sigterm(trainer, False)  # raised again once agreed
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda signum, frame: self._note(trainer, signum, frame))

    def _note(self, trainer: L.Trainer, signum: int, frame: FrameType | None) -> None:
        if not self.signalled:
            launcher = trainer.strategy.launcher
            if launcher is not None:
                launcher.kill(signum)  # the DDP processes this one started, if any
        self.signalled = True

    def _agree(self, trainer: L.Trainer) -> None:
        signalled = self.signalled
        if trainer.world_size > 1:
            signalled = trainer.strategy.reduce_boolean_decision(signalled, all=False)
        if signalled:
            set_received_sigterm(trainer, True)  # the loops check it right after the hooks calling this

    @staticmethod
    def _fitting(trainer: L.Trainer) -> bool:
        return trainer.state.fn == TrainerFn.FITTING

    def on_sanity_check_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._take_over(trainer)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._take_over(trainer)
        self._step = trainer.global_step

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._take_over(trainer)

    # -- fitting

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step == self._step:
            return  # inside a gradient-accumulation window: no optimizer step yet
        self._step = trainer.global_step
        if trainer.world_size > 1 and not should_update_logs(trainer):
            # Under DDP agreeing is a collective whose answer the host reads, which makes the
            # CPU wait for the GPU: only on logging steps, whose values are read anyway.
            return
        self._agree(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._agree(trainer)  # a signal during the epoch's validation, the last one included

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._fitting(trainer):
            # Lightning's validation loop stops at its first batch once the flag is up; the
            # epoch would then never be validated, not even after a resume.
            self._held = trainer.received_sigterm
            set_received_sigterm(trainer, False)
        elif not trainer.sanity_checking:
            self._take_over(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._fitting(trainer):
            set_received_sigterm(trainer, self._held)

    # -- validation and test runs

    def on_validation_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int, dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        if not self._fitting(trainer):
            self._agree(trainer)

    def on_test_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int, dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        self._agree(trainer)
