"""A CSV logger that continues a resumed run's `metrics.csv` instead of replacing it."""

from __future__ import annotations

import csv

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class _AppendingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        # Lightning deletes an existing metrics.csv here. Keep it, and its columns, so that new
        # rows go below the old ones (the file is rewritten only if new columns appear).
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as f:
                self.metrics_keys = sorted(csv.DictReader(f).fieldnames or [])


class AppendingCSVLogger(CSVLogger):
    """`CSVLogger` whose `metrics.csv` grows across a run's resumptions.

    Rows logged after the last checkpoint and before a kill stay in the file, so a step can
    appear twice: once from the interrupted attempt, once from the resumed one.
    """

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment
