"""SIGTERM stops every process after the same step, saves last.ckpt and exits 143: no hang."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from multiout.data.synthetic import SyntheticDataModule
from multiout.runtime.faults.sigterm import SigtermAtStepEnd
from tests.helpers import REPO_ROOT, quiet_trainer, small_classifier


class SignalAt(L.Callback):
    """Sends this process SIGTERM as training batch `batch` (or a validation batch) starts,
    and counts the validation batches that finish."""

    def __init__(self, batch: int | None = None, validation_batch: int | None = None) -> None:
        self.batch, self.validation_batch = batch, validation_batch
        self.validated = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGTERM)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0) -> None:
        if batch_idx == self.validation_batch and not trainer.sanity_checking:
            os.kill(os.getpid(), signal.SIGTERM)

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ) -> None:
        self.validated += not trainer.sanity_checking


BATCHES = 15  # training batches an epoch below: 480 training samples, 32 a batch


def fit(tmp_path, *callbacks: L.Callback, **trainer_options) -> L.Trainer:
    """Fits a small model with `SigtermAtStepEnd`; returns the trainer, stopped or not."""
    trainer = quiet_trainer(
        tmp_path, **{"max_epochs": 1, "num_sanity_val_steps": 0, **trainer_options},
        callbacks=[SigtermAtStepEnd(), *callbacks],
    )  # fmt: skip
    data = SyntheticDataModule(num_samples=600, num_features=6, num_channels=4, batch_size=32)
    with contextlib.suppress(SIGTERMException):
        trainer.fit(small_classifier(), datamodule=data)
    return trainer


def trained_batches(trainer: L.Trainer) -> int:
    return trainer.fit_loop.epoch_loop.batch_progress.total.completed


def test_training_stops_after_the_step_the_signal_came_in(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    trainer = fit(tmp_path, SignalAt(batch=3))
    assert trainer.interrupted
    assert trainer.global_step == 4 and trained_batches(trainer) == 4  # batch 3 included, and counted
    assert signal.getsignal(signal.SIGTERM) is before  # Lightning put the previous handler back


def test_under_gradient_accumulation_training_stops_after_a_whole_optimizer_step(tmp_path):
    # Batches 2 and 3 make one optimizer step; stopping after batch 2 would lose its gradients.
    trainer = fit(tmp_path, SignalAt(batch=2), accumulate_grad_batches=2)
    assert trainer.interrupted
    assert trainer.global_step == 2 and trained_batches(trainer) == 4


def test_a_signal_before_an_epochs_validation_lets_it_run_whole(tmp_path):
    signal_at = SignalAt(batch=BATCHES - 1)
    trainer = fit(tmp_path, signal_at, max_epochs=2)
    assert trainer.interrupted and trainer.global_step == BATCHES  # epoch 1 never started
    assert signal_at.validated == trainer.num_val_batches[0] > 1  # every validation batch, not one


def test_a_signal_before_a_validation_inside_the_epoch_stops_the_run_after_it(tmp_path):
    # Validation after every 5 batches: batch 4's step ends, the validation runs whole, and the
    # run stops there, not a step (or, under DDP, a logging step) later.
    signal_at = SignalAt(batch=4)
    trainer = fit(tmp_path, signal_at, val_check_interval=5)
    assert trainer.interrupted
    assert trainer.global_step == 5 and trained_batches(trainer) == 5
    assert signal_at.validated == trainer.num_val_batches[0] > 1  # every validation batch, not one


def test_a_signal_during_the_last_validation_still_stops_the_run(tmp_path):
    signal_at = SignalAt(validation_batch=1)
    trainer = fit(tmp_path, signal_at, max_epochs=1)
    assert trainer.interrupted  # not lost once no training batch follows
    assert signal_at.validated == trainer.num_val_batches[0] and trainer.global_step == BATCHES


def test_a_signal_on_another_process_stops_this_one_at_the_same_step(tmp_path, monkeypatch):
    """Under DDP processes agree at the end of each logging step: here a second process,
    faked by the reduction, was signalled after step 3 and this one never was."""
    monkeypatch.setattr(L.Trainer, "world_size", property(lambda self: 2))
    asked_at = []

    def reduce(self, decision, all=True):
        asked_at.append(self.lightning_module.trainer.global_step)
        return len(asked_at) == 2  # the second agreement: after steps 3 and 6

    monkeypatch.setattr(
        "lightning.pytorch.strategies.SingleDeviceStrategy.reduce_boolean_decision", reduce, raising=False
    )
    trainer = fit(tmp_path, log_every_n_steps=3)
    assert asked_at == [3, 6]  # steps 1, 2, 4 and 5 never wait on the others
    assert trainer.interrupted and trainer.global_step == 6


def test_ddp_processes_signalled_together_all_stop_and_save(tmp_path):
    """A scheduler signals every process of a job at once. Lightning's own handler runs a
    broadcast inside the signal handler; a process signalled inside another collective then
    waits for ever (about half of such runs hung here before this callback)."""
    run_dir = tmp_path / "run"
    overrides = [
        "trainer=ddp_sim", "data.num_samples=20000", "trainer.max_epochs=20",
        "callbacks.last_checkpoint.every_n_train_steps=10", "callbacks.rich_progress_bar=null",
    ]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "train.py"), f"hydra.run.dir={run_dir}", *overrides],
        cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    last = run_dir / "checkpoints" / "last.ckpt"
    try:
        while not last.exists():  # training is under way on both processes
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            time.sleep(0.05)
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGTERM)  # rank 0 and rank 1 (its child) alike, as SLURM does
        _, err = proc.communicate(timeout=300)  # a hang waits for ever; a busy machine takes a while
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
    log = (run_dir / "train.log").read_text()
    saved_at = torch.load(last, weights_only=True)["global_step"]
    assert f"SIGTERM: saved {last} at step {saved_at}" in log
    assert f"continue with: python train.py {shlex.join(overrides)} resume={run_dir}" in log
