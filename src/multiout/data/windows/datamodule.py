"""Windows over a time-ordered table: each example is the last `window` rows of the features,
`[L, F]`, labelled with the targets of its last row.

The table is read as `data=tabular` reads it (same column keys, same encoding of categories and
gaps, statistics from the training rows), sorted by `time_column` (else file order is trusted),
and cut into series by `group_column`. It stays one resident `[N, F]` tensor; a split is the
rows its windows end at, and a batch gathers its windows with one indexing call
(`WindowedRows`), so no window is ever stored. Splits are consecutive blocks of each series
in time; a val or test window may read the last rows of the block before it as context, but
every target row belongs to one split only.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

import pyarrow as pa
import torch
from torch import Tensor

from multiout.data.batching import BatchDataset, Batches
from multiout.data.spec import DataSpec
from multiout.data.splits import SPLITS
from multiout.data.tables.categories import to_vocabularies_
from multiout.data.tables.columns import Columns
from multiout.data.tables.datamodule import (
    _permute_rows_,
    _split_files,
    check_feature_options,
    columns_spec,
    table_columns,
)
from multiout.data.tables.labels import LabelMapping, distinct_labels
from multiout.data.tables.read import Table, read_columns, read_table
from multiout.data.tables.statistics import TrainStatistics, tensor_blocks, train_statistics
from multiout.data.tensor_datamodule import TensorDataModule
from multiout.data.windows.series import check_series_length, series_layout, split_series, window_ends
from multiout.errors import InputError
from multiout.metrics.per_channel import label_counts

log = logging.getLogger(__name__)


class WindowedRows(BatchDataset):
    """Windows of `window` rows of `features` `[N, F]` ending at the rows `ends`, with the
    `per_row` tensors (targets `[N, C]`) at those ends: a batch of indices gathers
    `[B, L, F]` and `[B, C]` in one indexing call each."""

    def __init__(self, features: Tensor, ends: Tensor, window: int, *per_row: Tensor) -> None:
        self.features, self.ends, self.per_row = features, ends, per_row
        self.offsets = torch.arange(1 - window, 1, device=ends.device)

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: Tensor) -> tuple[Tensor, ...]:
        ends = self.ends.index_select(0, index.to(self.ends.device))
        rows = (ends[:, None] + self.offsets).flatten()
        if self.features.device.type == "cpu":
            # NumPy's take copies B x L rows several times faster than index_select on a CPU
            # (scripts/bench/windows_loader.py); on an accelerator, index_select.
            x = torch.from_numpy(self.features.numpy()[rows.numpy()])
        else:
            x = self.features.index_select(0, rows)
        x = x.view(len(ends), len(self.offsets), -1)
        return (x, *[t.index_select(0, ends) for t in self.per_row])


class WindowsDataModule(TensorDataModule):
    """Windows of one time-ordered file split in time by fractions (`path`), or of one file
    per split. `self.splits[split]` is `(features [N, F], window ends [W], targets [N, C])`."""

    def __init__(
        self,
        window: int,
        path: str | None = None,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        predict_path: str | None = None,
        time_column: str | None = None,
        group_column: str | None = None,
        target_columns: str | list[str] = "y_*",
        feature_columns: list[str] | None = None,
        exclude_columns: tuple[str, ...] | list[str] = (),
        id_column: str | None = None,
        label_values: str | Sequence | Mapping = (-1, 0, 1),
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        batch_size: int = 256,
        num_workers: int = 0,
        shuffle_seed: int = 0,
        ignore_index: int = -100,
        categorical_columns: str | list[str] = "auto",
        missing_features: str = "impute",
        max_categories: int = 1000,
        device_resident_max_gb: float = 0.0,
        device_resident_on_cpu: bool = False,
        spec: dict | None = None,
    ) -> None:
        super().__init__(
            batch_size, num_workers, shuffle_seed, device_resident_max_gb, device_resident_on_cpu
        )
        trained = None if spec is None else DataSpec.from_dict(spec)
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise InputError(f"data.window must be a positive number of rows, got {window!r}")
        if trained is not None and trained.input.shape[0] != window:
            raise InputError(
                f"data.window={window}, but the checkpoint's model was trained on windows of "
                f"{trained.input.shape[0]} rows"
            )
        check_feature_options(missing_features, max_categories)
        self.window, self.keys = window, (time_column, group_column)
        self.files = _split_files(path, train_path, val_path, test_path)
        self.predict_path = predict_path
        first = next(iter(self.files.values()), predict_path)
        if first is None:
            raise InputError(
                "data: no file given; set data.path (one file, split in time by data.val_fraction "
                "and data.test_fraction), or data.train_path, data.val_path and data.test_path"
            )
        keys = [k for k in self.keys if k is not None and k != id_column]
        excluded = [*(exclude_columns or []), *keys]
        self.columns, categorical, self.label_values = table_columns(
            first, trained, (target_columns, feature_columns, excluded, id_column),
            categorical_columns, label_values, ignore_index, labelled=bool(self.files),
        )  # fmt: skip
        self.fractions = (val_fraction, test_fraction)
        self.ignore_index = ignore_index
        self.feature_names, self.channel_names = self.columns.features, self.columns.targets
        self.categorical = {name: self.feature_names.index(name) for name in categorical}
        self.allow_missing, self.max_categories = missing_features == "impute", max_categories
        self.vocabularies = None if trained is None else dict(trained.input.categorical)
        self.predict_ids: pa.ChunkedArray | None = None
        self._train_rows: Tensor | None = None  # of the training features tensor
        self._statistics: TrainStatistics | None = None
        self._spec: DataSpec | None = None

    @property
    def num_classes(self) -> int:  # type: ignore[override]
        return max(len(values) for values in self.labels().values)

    def labels(self) -> LabelMapping:
        """The label mapping of the target columns, `auto` resolved from the training rows."""
        if self.label_values is None:
            path = self._train_file
            order, bounds = self._layout(path)
            rows = self._split_rows(path, bounds)[1] if "all" in self.files else None
            table = read_columns(path, self.columns.targets)
            if order is not None:
                table = table.take(pa.array(order))
            if rows is not None:
                table = table.take(pa.array(rows.numpy()))
            self.label_values = [distinct_labels(table.column(n), n, path) for n in self.columns.targets]
        return LabelMapping(self.columns.targets, self.label_values, self.ignore_index)

    def setup(self, stage: str | None = None) -> None:
        if stage == "predict":
            if "predict" not in self.splits and self.predict_path is not None:
                self._setup_predict(self.predict_path)
            return
        if "train" in self.splits or not self.files:
            return
        if "all" in self.files:
            path = self.files["all"]
            table, bounds = self._read(path, with_targets=True)
            ends, self._train_rows = self._split_rows(path, bounds)
            x, y = torch.from_numpy(table.features), torch.from_numpy(table.targets)
            self._encode({"all": (x, table)}, x, y[ends["train"]])
            self.splits.update({split: (x, ends[split], y) for split in SPLITS})
            return
        read = {}
        for split, path in self.files.items():
            table, bounds = self._read(path, with_targets=True)
            check_series_length(bounds, self.window, path)
            x = torch.from_numpy(table.features)
            read[split] = (x, table)
            self.splits[split] = (x, window_ends(bounds, self.window), torch.from_numpy(table.targets))
        self._train_rows = None
        train = self.splits.get("train")
        self._encode(read, *((train[0], train[2][train[1]]) if train else (None, None)))

    def _setup_predict(self, path: str) -> None:
        table, bounds = self._read(path, with_targets=False)
        ends = window_ends(bounds, self.window)
        if len(ends) < len(table.features):
            log.info(
                f"predict: {len(table.features) - len(ends)} of {len(table.features)} rows of {path} "
                f"have fewer than data.window - 1 = {self.window - 1} earlier rows in their series: "
                "no prediction for them"
            )
        x = torch.from_numpy(table.features)
        self._encode({"predict": (x, table)}, None, None)
        self.splits["predict"] = (x, ends)
        self.predict_ids = None if table.ids is None else table.ids.take(pa.array(ends.numpy()))

    def _read(self, path: str, with_targets: bool) -> tuple[Table, list[tuple[int, int]]]:
        """The file's rows in time order (within each series), and each series' bounds."""
        columns = self.columns if with_targets else Columns(self.columns.features, [], self.columns.id)
        table = read_table(
            path,
            columns,
            self.labels() if with_targets else None,
            list(self.categorical),
            allow_missing=self.allow_missing,
        )
        order, bounds = self._layout(path, len(table.features))
        if order is not None:
            index = torch.from_numpy(order)
            _permute_rows_(torch.from_numpy(table.features), index)
            if table.targets is not None:
                _permute_rows_(torch.from_numpy(table.targets), index)
            if table.ids is not None:
                table.ids = table.ids.take(pa.array(order))
        return table, bounds

    def _layout(self, path: str, num_rows: int | None = None) -> tuple:
        if num_rows is None:
            num_rows = read_columns(path, self.columns.targets[:1]).num_rows
        return series_layout(path, num_rows, *self.keys)

    def _split_rows(self, path: str, bounds: list[tuple[int, int]]) -> tuple[dict[str, Tensor], Tensor]:
        return split_series(bounds, self.window, *self.fractions, path)

    def _encode(
        self, read: dict[str, tuple[Tensor, Table]], train: Tensor | None, train_targets: Tensor | None
    ) -> None:
        """The training rows' statistics and vocabularies (`train`: the tensor holding them,
        at `self._train_rows`; `train_targets`: the targets at the training windows' ends),
        then file codes of categorical features -> vocabulary indices."""
        if self.vocabularies is None and train is not None and train_targets is not None:
            files = read["train" if "train" in read else "all"][1].categories
            statistics = train_statistics(
                tensor_blocks(train, None, self._train_rows), self.feature_names, files,
                self.num_classes, self.ignore_index, self.max_categories, self._train_file,
            )  # fmt: skip
            counts = label_counts(train_targets, self.num_classes, self.ignore_index).numpy()
            self._statistics = dataclasses.replace(statistics, counts=counts)
            self.vocabularies = statistics.vocabularies
        if not self.categorical:
            return
        if self.vocabularies is None:
            raise InputError(f"data: categorical columns {list(self.categorical)} need a train split")
        for split, (x, table) in read.items():
            to_vocabularies_(split, x, self.categorical, table.categories, self.vocabularies)

    def _dataset(self, tensors: tuple[Tensor, ...]) -> WindowedRows:
        features, ends, *targets = tensors
        return WindowedRows(features, ends, self.window, *targets)

    def data_spec(self) -> DataSpec:
        if self._spec is None:
            self.setup("fit")
            if self._statistics is None:
                raise InputError("data: no train split; set data.path or data.train_path")
            shape = [self.window, len(self.feature_names)]
            self._spec = columns_spec(self, self._statistics, self._train_file, shape)
        return self._spec

    @property
    def categorical_features(self) -> dict[str, list]:
        if self.vocabularies is None:
            self.setup("fit")
        return self.vocabularies or {}

    @property
    def _train_file(self) -> str:
        return self.files.get("all") or self.files.get("train", "data")

    def predict_dataloader(self) -> Batches:
        return self._loader("predict", shuffle=False)

    def _loader(self, split: str, shuffle: bool) -> Batches:
        if split not in self.splits:
            key = "data.predict_path" if split == "predict" else f"data.path or data.{split}_path"
            raise InputError(f"data: no {split} split; set {key}")
        return super()._loader(split, shuffle)
