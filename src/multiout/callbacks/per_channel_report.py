"""At the end of testing: a per-channel table on the terminal and `per_channel.csv`."""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger  # part: loggers, figures
from rich.console import Console
from rich.table import Table

from multiout.metrics.figures import accuracy_figure, confusion_grid_figure  # part: figures
from multiout.metrics.report import channel_rows, write_rows_csv
from multiout.models.classifier import MultiOutputClassifier
from multiout.runtime import storage
from multiout.runtime.atomic import atomic_path  # part: figures

log = logging.getLogger(__name__)


def _fmt(value: float) -> str:
    return "no labels" if math.isnan(value) else f"{value:.3f}"


def channel_table(rows: list[dict[str, Any]]) -> Table:
    """The rows of `per_channel.csv`, with accuracy's gain over the majority class beside it."""
    table = Table(title="per-channel test results", show_edge=False, pad_edge=False)
    names = list(rows[0])
    for name in names:
        table.add_column(name, justify="left" if name == "channel" else "right")
    table.add_column("acc - majority", justify="right")
    for row in rows:
        gain = row["acc"] - row["majority_acc"]
        cells = [_fmt(row[name]) if isinstance(row[name], float) else str(row[name]) for name in names]
        table.add_row(*cells, "" if math.isnan(gain) else f"{gain:+.3f}")
    return table


class PerChannelReport(Callback):
    """Reports the model's last test epoch (`results["test"]`) channel by channel.

    Writes `per_channel.csv` into `output_dir`. Runs on the first process only.
    """

    def __init__(
        self,
        output_dir: str,
        figures: bool = True,  # part: figures
    ) -> None:
        self.output_dir = str(output_dir)
        self.figures = figures  # part: figures

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not isinstance(pl_module, MultiOutputClassifier) or "test" not in pl_module.results:
            return
        if not trainer.is_global_zero or trainer.fast_dev_run:  # type: ignore[attr-defined]
            return  # fast_dev_run promises a run that writes nothing
        result = pl_module.results["test"]
        out = pl_module.spec.output
        rows = channel_rows(result, out.channel_names)
        Console().print(channel_table(rows))
        path = write_rows_csv(storage.join(self.output_dir, "per_channel.csv"), rows)
        log.info(f"per-channel results written to {path}")
        # part: figures
        if self.figures:
            self._save_figures(trainer, rows, result.confmat, out.channel_names, out.label_values)

    def _save_figures(self, trainer: L.Trainer, rows, confmat, names: list[str], labels: list[list]) -> None:
        """`per_channel_accuracy.png` (accuracy against the majority-class baseline) and
        `per_channel_confusion.png` into `output_dir`, both handed to the loggers that show figures."""
        figures = {
            "per_channel_accuracy": accuracy_figure(rows),
            "per_channel_confusion": confusion_grid_figure(confmat, names, labels),
        }
        for name, fig in figures.items():
            with atomic_path(storage.join(self.output_dir, f"{name}.png")) as tmp:
                fig.savefig(tmp, format="png", dpi=110)
            # part: loggers
            for logger in trainer.loggers:
                if isinstance(logger, TensorBoardLogger):
                    logger.experiment.add_figure(
                        f"test/{name}", fig, global_step=trainer.global_step, close=False
                    )
            # end part

    # end part
