"""A default `python train.py` as a user runs it: time to the first training step, peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
from bench.timing import median

# Start-up only: a default run cut to a few batches, no test.
SHORT_RUN = (
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=3",
    "+trainer.limit_val_batches=1",
    "test=false",
)


def peak_rss_mib() -> float:
    """This process's peak resident memory since it started its program, in MiB.

    Linux's VmHWM belongs to the program's own address space. `wait4`'s `ru_maxrss` would
    not do: a child started with vfork counts its parent's peak before `exec`, so a default
    run launched from the benchmark would report the benchmark's own memory.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource  # Unix only; Linux has returned above

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


class StartupProbe(L.Callback):
    """Writes when the first training batch starts (wall clock) to `path`, and the peak
    resident memory at the end of every stage to `path` + `.rss`."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx
    ) -> None:
        if trainer.global_step == 0 and batch_idx == 0 and trainer.is_global_zero:
            Path(self.path).write_text(repr(time.time()))

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.is_global_zero:
            Path(f"{self.path}.rss").write_text(repr(peak_rss_mib()))


def launch_train(train_script: Path, *overrides: str) -> dict[str, float]:
    """Run `python <train_script> <overrides>` in a fresh directory; seconds to first step, peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        stamp = Path(tmp) / "first_step"
        command = [
            sys.executable,
            str(train_script),
            f"hydra.run.dir={tmp}/run",
            f"+callbacks.startup_probe._target_={StartupProbe.__module__}.StartupProbe",
            f"+callbacks.startup_probe.path={stamp}",
            *overrides,
        ]
        with open(Path(tmp) / "output.log", "w") as log:
            start = time.time()
            # The child imports the probe callback from `bench`, beside this file's package.
            scripts = str(Path(__file__).resolve().parents[1])
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [scripts, os.environ.get("PYTHONPATH")])),
            }
            run = subprocess.run(command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
            returncode = run.returncode
            seconds = time.time() - start
        if returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed:\n{(Path(tmp) / 'output.log').read_text()[-3000:]}"
            )
        return {
            "first_step_s": float(stamp.read_text()) - start,
            "total_s": seconds,
            "peak_rss_mib": float(Path(f"{stamp}.rss").read_text()),
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
