"""SIGTERM stops every process after the same step, saves last.ckpt and exits 143: no hang."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time

import lightning as L
import pytest
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from multiout.callbacks.sigterm import SigtermAtStepEnd
from multiout.data.synthetic import SyntheticDataModule
from multiout.models.classifier import MultiOutputClassifier
from tests.conftest import REPO_ROOT


class SignalAt(L.Callback):
    """Sends this process SIGTERM during training batch `batch`."""

    def __init__(self, batch: int) -> None:
        self.batch = batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGTERM)


def test_training_stops_after_the_step_the_signal_came_in(tmp_path):
    model = MultiOutputClassifier(
        num_features=6, num_channels=4, num_classes=3,
        net={"class_path": "multiout.models.mlp.MLP", "hidden_sizes": [8]},
        optimizer={"name": "AdamW", "lr": 1e-3},
    )  # fmt: skip
    sigterm = SigtermAtStepEnd()
    trainer = L.Trainer(
        max_epochs=1, limit_val_batches=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, use_distributed_sampler=False, default_root_dir=tmp_path,
        callbacks=[sigterm, SignalAt(batch=3)],
    )  # fmt: skip
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SIGTERMException):
        trainer.fit(
            model,
            datamodule=SyntheticDataModule(num_samples=600, num_features=6, num_channels=4, batch_size=32),
        )
    assert trainer.global_step == 4  # batches 0-3 trained, batch 3 included
    assert trainer.fit_loop.epoch_loop.batch_progress.total.completed == 4  # a checkpoint counts it
    assert sigterm.signalled
    assert signal.getsignal(signal.SIGTERM) is before  # Lightning put the previous handler back


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
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
    log = (run_dir / "train.log").read_text()
    saved_at = torch.load(last, weights_only=True)["global_step"]
    assert f"SIGTERM: saved {last} at step {saved_at}" in log
    assert f"continue with: python train.py {shlex.join(overrides)} resume={run_dir}" in log
