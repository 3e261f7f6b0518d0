"""Write predictions to CSV batch by batch, in the user's own label values."""

from __future__ import annotations

import os
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor

from multiout.errors import InputError
from multiout.runtime import storage
from multiout.runtime.atomic import atomic_path


def probability_column(channel: str, label: object) -> str:
    return f"{channel}_prob_{label}"


class PredictionCSVWriter(Callback):
    """`predictions.csv`: the id column (if any), then one column per target holding the most
    likely of its labels (`label_values[c][k]`), then optionally one probability column per
    target and each of its labels.

    Each batch is written as it comes, so no more than one batch of predictions is held in
    memory; the file is written beside `path` and renamed into place only when complete.
    (A plain callback rather than `BasePredictionWriter`, which asks the loader for sample
    indices that our whole-batch sampler does not need to track: rows come in file order.)

    Ids come from `ids` (the whole file's, in order) or, from a data module that streams
    them, as each batch's second element. Under DDP each process writes its own part, and the
    first joins them in rank order, which is input order for a data module whose processes
    predict consecutive ranges of rows (`predicts_in_rank_order`).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        channel_names: list[str],
        label_values: list[list],
        ids: pa.ChunkedArray | None = None,
        id_column: str | None = None,
        save_probabilities: bool = False,
    ) -> None:
        super().__init__()
        self.path = storage.location(path)
        self.channel_names = list(channel_names)
        self.label_values = [np.asarray(values) for values in label_values]  # per channel
        self.ids = ids
        self.id_column = id_column
        self.save_probabilities = save_probabilities
        self._file = ExitStack()  # the `atomic_path` the rows go to, open from the first batch to the end
        self._writer: pacsv.CSVWriter | None = None
        self._rows = 0

    def on_predict_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        prediction: Tensor,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        ids = batch[1] if isinstance(batch, tuple | list) and len(batch) > 1 else None
        table = self._table(prediction.float().cpu(), ids if isinstance(ids, pa.Array) else None)
        if self._writer is None:
            tmp = self._file.enter_context(
                atomic_path(self._part(trainer, getattr(trainer, "global_rank", 0)))
            )
            options = pacsv.WriteOptions(quoting_style="needed")
            self._writer = pacsv.CSVWriter(tmp, table.schema, write_options=options)
        self._writer.write_table(table)
        self._rows += table.num_rows

    def _part(self, trainer: L.Trainer | None, rank: int) -> Path | str:
        """Where this process writes: the file itself, or under DDP the process's part of it."""
        if trainer is None or trainer.world_size == 1:
            return self.path
        if isinstance(self.path, str):
            raise InputError(
                f"predictions_file={self.path}: several processes write predictions to a local file only; set trainer.devices=1"
            )
        return self.path.with_name(f"{self.path.name}.part{rank}")

    def _table(self, probs: Tensor, batch_ids: pa.Array | None = None) -> pa.Table:
        """`probs` `[B, K, C]` -> one record batch of output columns."""
        columns: dict[str, pa.Array] = {}
        if batch_ids is not None:
            columns[self.id_column or "id"] = batch_ids
        elif self.ids is not None:
            columns[self.id_column or "id"] = self.ids.slice(self._rows, len(probs))
        classes = probs.max(dim=1).indices.numpy()  # [B, C] class ids
        for c, name in enumerate(self.channel_names):
            columns[name] = pa.array(self.label_values[c][classes[:, c]])  # in the user's values
        if self.save_probabilities:
            p = probs.numpy()
            for c, name in enumerate(self.channel_names):
                for k, label in enumerate(self.label_values[c].tolist()):
                    columns[probability_column(name, label)] = pa.array(p[:, k, c])
        return pa.table(columns)

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._file.close()  # renames the finished file into place
        if trainer is not None and trainer.world_size > 1:
            # Every part is complete once all processes reach this sum.
            rows = torch.tensor(self._rows, device=pl_module.device)
            self._rows = int(trainer.strategy.reduce(rows, reduce_op="sum"))
            if trainer.is_global_zero:
                parts = [self._part(trainer, rank) for rank in range(trainer.world_size)]
                join_parts(Path(self.path), [Path(p) for p in parts])

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._file.__exit__(type(exception), exception, exception.__traceback__)  # deletes it

    @property
    def rows_written(self) -> int:
        return self._rows


def join_parts(path: Path, parts: list[Path]) -> None:
    """The CSV parts, in order, as one file at `path` (one header); the parts are deleted."""
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        header_written = False
        for part in parts:
            if not part.is_file():  # a process that predicted no rows
                continue
            with open(part, "rb") as f:
                header = f.readline()
                if not header_written:
                    out.write(header)
                    header_written = True
                shutil.copyfileobj(f, out)
    for part in parts:
        part.unlink(missing_ok=True)
