"""A CSV logger that continues a resumed run's `metrics.csv` instead of replacing it."""

from __future__ import annotations

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from multiout.runtime.lightning_internals import AppendingWriter


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
            self._experiment = AppendingWriter(log_dir=self.log_dir)
        return self._experiment  # type: ignore[return-value]
