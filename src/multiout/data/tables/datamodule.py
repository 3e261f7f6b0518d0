"""Your own table: feature columns and many target columns from CSV or Parquet files.

Headers are read and checked when the module is built, every value in `setup`: a bad file,
column or label stops the run before training starts. Numeric features stay as they are in
the file (NaN where missing); categorical ones become indices of the training split's
vocabulary (`data/tables/categories.py`). The training split's statistics, vocabularies and gaps are
handed to the model, which standardizes, imputes and embeds with them and keeps them in its
checkpoint, so that evaluation and prediction on new files transform features exactly as
training did.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from multiout.data.spec import DataSpec
from multiout.data.splits import SPLITS, split_indices, split_sizes
from multiout.data.tables.labels import LabelMapping
from multiout.data.tables.read import Table
from multiout.data.tables.source import ColumnKeys, TableSource, column_keys, permute_rows_, split_files
from multiout.data.tensor_datamodule import TensorDataModule
from multiout.errors import InputError


class TabularDataModule(TensorDataModule):
    """Splits from one file (by `val_fraction`/`test_fraction`) or from one file per split.

    `__init__` reads only the files' headers: the columns, and so the shapes the model is built
    with, are known (and checked) at once. `setup` reads and checks every value. `**columns`:
    the column keys (`ColumnKeys`: targets, features, id, labels, categories, gaps).
    """

    def __init__(
        self,
        path: str | None = None,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        predict_path: str | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        ordered_split: bool = False,
        num_folds: int | None = None,
        fold: int = 0,
        batch_size: int = 256,
        num_workers: int = 0,
        seed: int = 0,
        shuffle_seed: int = 0,
        device_resident_max_gb: float = 4.0,
        device_resident_on_cpu: bool = False,
        spec: dict | None = None,
        **columns: Any,
    ) -> None:
        super().__init__(
            batch_size, num_workers, shuffle_seed, device_resident_max_gb, device_resident_on_cpu
        )
        keys: ColumnKeys = column_keys(columns, "data=tabular")
        trained = None if spec is None else DataSpec.from_dict(spec)
        self.table = TableSource(
            split_files(path, train_path, val_path, test_path), predict_path, keys, trained
        )
        if path is not None and ordered_split and num_folds is not None:
            raise InputError("data.num_folds needs data.ordered_split=false: folds are drawn at random")
        self.split_options = (val_fraction, test_fraction, seed, ordered_split, (num_folds, fold))
        self.ignore_index = keys.ignore_index
        self.feature_names, self.channel_names = self.table.columns.features, self.table.columns.targets
        self.predict_ids: pa.ChunkedArray | None = None
        self._spec: DataSpec | None = None
        self._read = False  # the labelled files

    @property
    def num_classes(self) -> int:  # type: ignore[override]
        self.labels()
        return self.table.num_classes

    def labels(self) -> LabelMapping:
        """The label mapping of the target columns, `auto` resolved from the training rows."""

        def training(targets: pa.Table) -> pa.Table:
            if "all" not in self.table.files:
                return targets
            return targets.take(pa.array(_train_rows(targets.num_rows, *self.split_options).numpy()))

        return self.table.labels(training)

    def setup(self, stage: str | None = None) -> None:
        table = self.table
        if stage == "predict":
            if "predict" not in self.splits and table.predict_path is not None:
                read = table.read(table.predict_path, with_targets=False)
                self.splits["predict"] = (torch.from_numpy(read.features),)
                self.predict_ids = read.ids
                table.to_vocabularies("predict", self.splits["predict"][0], read.categories)
            return
        if self._read or not table.files:
            return
        self._read = True
        labels = self.labels()
        if "all" in table.files:
            read = table.read(table.files["all"], True, labels)
            self.splits.update(_split_table(read, *self.split_options))
            categories = dict.fromkeys(SPLITS, read.categories)
        else:
            categories = {}
            for split, path in table.files.items():
                read = table.read(path, True, labels)
                self.splits[split] = (torch.from_numpy(read.features), torch.from_numpy(read.targets))
                categories[split] = read.categories
        if "train" in self.splits:
            x, y = self.splits["train"]
            table.learn(x, categories["train"], y)
        for split, files in categories.items():
            table.to_vocabularies(split, self.splits[split][0], files)

    def data_spec(self) -> DataSpec:
        if self._spec is None:
            self.setup("fit")
            self._spec = self.table.spec()
        return self._spec

    @property
    def categorical_features(self) -> dict[str, list]:
        """Each categorical feature's vocabulary: entry `i` is index `i + 1` in `x`, 0 is unseen."""
        if self.table.vocabularies is None:
            self.setup("fit")
        return self.table.vocabularies or {}


def _train_rows(
    num_rows: int,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    ordered: bool,
    folds: tuple[int | None, int] = (None, 0),
) -> Tensor:
    """The row numbers of the training split, as `_split_table` cuts a file of `num_rows`."""
    if ordered:
        return torch.arange(split_sizes(num_rows, val_fraction, test_fraction)["train"])
    return split_indices(num_rows, val_fraction, test_fraction, seed, *folds)["train"]


def _split_table(
    table: Table,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    ordered: bool,
    folds: tuple[int | None, int] = (None, 0),
) -> dict[str, tuple[Tensor, Tensor]]:
    """Random (or K-fold) split from `seed`, or consecutive blocks in file order (train, val,
    test) for data where order means time. Splits are views of the read arrays: a random split
    reorders the rows in place (each split's rows keep file order), so no split is a copy."""
    x, y = torch.from_numpy(table.features), torch.from_numpy(table.targets)
    num_folds, fold = folds
    if ordered:
        sizes = split_sizes(len(x), val_fraction, test_fraction)
    else:
        indices = split_indices(len(x), val_fraction, test_fraction, seed, num_folds, fold)
        sizes = {s: len(indices[s]) for s in SPLITS}
        order = torch.cat([indices[s] for s in SPLITS])
        permute_rows_(x, order)
        permute_rows_(y, order)
    bounds = np.cumsum([0, *(sizes[s] for s in SPLITS)]).tolist()
    return {s: (x[a:b], y[a:b]) for s, a, b in zip(SPLITS, bounds[:-1], bounds[1:], strict=True)}
