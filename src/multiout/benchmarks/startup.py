"""A default `python train.py` as a user runs it: time to the first training step, peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning as L

from multiout.benchmarks.timing import median

# Start-up only: a default run cut to a few batches, no test.
SHORT_RUN = (
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=3",
    "+trainer.limit_val_batches=1",
    "test=false",
)


class FirstStepTimer(L.Callback):
    """Writes the wall-clock time at which the first training batch starts to `path`."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx
    ) -> None:
        if trainer.global_step == 0 and batch_idx == 0 and trainer.is_global_zero:
            Path(self.path).write_text(repr(time.time()))


def launch_train(train_script: Path, *overrides: str) -> dict[str, float]:
    """Run `python <train_script> <overrides>` in a fresh directory; seconds to first step, peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        stamp = Path(tmp) / "first_step"
        command = [
            sys.executable,
            str(train_script),
            f"hydra.run.dir={tmp}/run",
            f"+callbacks.first_step._target_={FirstStepTimer.__module__}.FirstStepTimer",
            f"+callbacks.first_step.path={stamp}",
            *overrides,
        ]
        with open(Path(tmp) / "output.log", "w") as log:
            start = time.time()
            proc = subprocess.Popen(command, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
            # wait4 reports this child's own peak resident memory (in KiB on Linux).
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.time() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed:\n{(Path(tmp) / 'output.log').read_text()[-3000:]}"
            )
        return {
            "first_step_s": float(stamp.read_text()) - start,
            "total_s": seconds,
            "peak_rss_mib": usage.ru_maxrss / 1024,
        }


def startup(
    train_script: Path, repeats: int = 3, full_run_overrides: tuple[str, ...] = ()
) -> dict[str, float]:
    """Median time to the first step over short launches, and one default run's peak memory."""
    short = [launch_train(train_script, *SHORT_RUN) for _ in range(repeats)]
    full = launch_train(train_script, *full_run_overrides)
    return {
        "first_step_s": median([r["first_step_s"] for r in short]),
        "default_run_first_step_s": full["first_step_s"],
        "default_run_total_s": full["total_s"],
        "default_run_peak_rss_mib": full["peak_rss_mib"],
    }
