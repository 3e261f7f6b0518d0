"""The uses of Lightning's private API that the run machinery needs, in one place.

Each works around a limit of Lightning's public API and is guarded by
`tests/runtime/test_lightning_internals.py`, which fails when a Lightning upgrade moves what it
relies on.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import lightning as L
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.strategies.launchers import subprocess_script


# part: faults
def set_received_sigterm(trainer: L.Trainer, value: bool) -> None:
    """Lightning's own SIGTERM flag, which `trainer.received_sigterm` reads and its loops act on:
    the only way to stop a run the way Lightning's SIGTERM handler does (see `faults/sigterm.py`)."""
    trainer._signal_connector.received_sigterm = value


# end part


def set_run_length(trainer: L.Trainer, max_epochs: int, min_steps: int = 0, val_every: int = 1) -> None:
    """What the Trainer's `max_epochs`, `min_steps` and `check_val_every_n_epoch` arguments set,
    on a trainer already built: they follow from its world size (see `runtime/budget.py`)."""
    trainer.fit_loop.max_epochs = max_epochs
    trainer.fit_loop.epoch_loop.min_steps = min_steps
    trainer.check_val_every_n_epoch = val_every


def should_update_logs(trainer: L.Trainer) -> bool:
    """Whether values logged in the current training step reach the loggers (Lightning's cadence:
    `log_every_n_steps`, and the last step)."""
    return trainer._logger_connector.should_update_logs


@contextmanager
def ddp_child_command(command: Callable[[int], tuple[Sequence[str], str]]) -> Iterator[None]:
    """Lightning starts DDP ranks > 0 of a Hydra app with the command `command(local_rank)`
    gives (command, working directory) while the block runs (see `runtime/distributed.py`)."""
    original = subprocess_script._hydra_subprocess_cmd
    subprocess_script._hydra_subprocess_cmd = command  # type: ignore[assignment]
    try:
        yield
    finally:
        subprocess_script._hydra_subprocess_cmd = original


class AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer, continuing an existing `metrics.csv` instead of deleting it."""

    def _check_log_dir_exists(self) -> None:
        # Lightning deletes an existing metrics.csv here. Keep it, and its columns, so that new
        # rows go below the old ones (the file is rewritten only if new columns appear).
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as f:
                self.metrics_keys = sorted(csv.DictReader(f).fieldnames or [])
