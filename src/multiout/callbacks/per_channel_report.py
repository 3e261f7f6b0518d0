"""At the end of testing: a per-channel table on the terminal, `per_channel.csv` and figures."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from rich.console import Console
from rich.table import Table

from multiout.metrics.figures import accuracy_figure, confusion_grid_figure
from multiout.metrics.report import ChannelRow, channel_rows, write_rows_csv

log = logging.getLogger(__name__)


def _fmt(value: float) -> str:
    return "no labels" if math.isnan(value) else f"{value:.3f}"


def channel_table(rows: list[ChannelRow]) -> Table:
    table = Table(title="per-channel test results", show_edge=False, pad_edge=False)
    for name in ("channel", "acc", "majority", "acc - majority", "macro F1", "support"):
        table.add_column(name, justify="left" if name == "channel" else "right")
    for row in rows:
        gain = row.accuracy - row.majority_acc
        table.add_row(
            row.channel,
            _fmt(row.accuracy),
            _fmt(row.majority_acc),
            "" if math.isnan(gain) else f"{gain:+.3f}",
            _fmt(row.macro_f1),
            str(row.support),
        )
    return table


class PerChannelReport(Callback):
    """Reports the model's last test epoch (`epoch_results["test"]`) channel by channel.

    Writes `per_channel.csv`, `per_channel_accuracy.png` (accuracy against the majority-class
    baseline) and `per_channel_confusion.png` into `output_dir`, and adds both figures to
    TensorBoard when that logger is on. Runs on the first process only.
    """

    def __init__(self, output_dir: str, figures: bool = True) -> None:
        self.output_dir = Path(output_dir)
        self.figures = figures

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        result = getattr(pl_module, "epoch_results", {}).get("test")
        if result is None or not trainer.is_global_zero or trainer.fast_dev_run:
            return  # fast_dev_run promises a run that writes nothing
        rows = channel_rows(result["confmat"], pl_module.channel_names)
        Console().print(channel_table(rows))
        path = write_rows_csv(self.output_dir / "per_channel.csv", rows)
        log.info(f"per-channel results written to {path}")
        if self.figures:
            labels = pl_module.hparams.get("label_values") or list(range(pl_module.num_classes))
            self._save_figures(trainer, rows, result["confmat"], pl_module.channel_names, labels)

    def _save_figures(self, trainer: L.Trainer, rows, confmat, names: list[str], labels: list) -> None:
        figures = {
            "per_channel_accuracy": accuracy_figure(rows),
            "per_channel_confusion": confusion_grid_figure(confmat, names, labels),
        }
        for name, fig in figures.items():
            fig.savefig(self.output_dir / f"{name}.png", dpi=110)
            for logger in trainer.loggers:
                if isinstance(logger, TensorBoardLogger):
                    logger.experiment.add_figure(
                        f"test/{name}", fig, global_step=trainer.global_step, close=False
                    )
