"""SIGTERM ends training on every process at the end of the same training step."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback


class SigtermAtStepEnd(Callback):
    """Takes over SIGTERM while training, so that no process waits forever for the others.

    Lightning's own handler runs a collective (a broadcast) inside the signal handler. Under
    DDP a process interrupted inside another collective (a gradient all-reduce, the
    non-finite loss check) then broadcasts while its peers do something else, and every
    process waits for ever: the run never saves its checkpoint nor exits, and a scheduler
    that requeues on exit 143 never requeues it.

    The handler here only notes the signal and passes it on to the processes Lightning
    started, as Lightning's does. At the end of each training batch the processes agree on
    it (one all-reduce of the flag, under DDP only), and all of them raise Lightning's
    SIGTERM flag at the same step. Lightning then stops as usual: `SIGTERMException` after
    that step, `on_exception` (where `LastCheckpoint` saves `last.ckpt`), exit 143.
    """

    def __init__(self) -> None:
        self.signalled = False

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning installs its handlers just before training starts and restores the
        # previous ones when `fit` ends, which also removes this one.
        self.signalled = False
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda signum, frame: self._note(trainer, signum, frame))

    def _note(self, trainer: L.Trainer, signum: int, frame: FrameType | None) -> None:
        if not self.signalled:
            launcher = trainer.strategy.launcher
            if launcher is not None:
                launcher.kill(signum)  # the DDP processes this one started, if any
        self.signalled = True

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        signalled = self.signalled
        if trainer.world_size > 1:
            signalled = trainer.strategy.reduce_boolean_decision(signalled, all=False)
        if signalled:
            # Lightning's own flag (`trainer.received_sigterm` reads it), checked right after
            # this hook: it raises `SIGTERMException` once the step's bookkeeping is done, so
            # the checkpoint counts this step as trained.
            trainer._signal_connector.received_sigterm = True
