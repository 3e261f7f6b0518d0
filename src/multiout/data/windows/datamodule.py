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

import logging
from typing import Any

import pyarrow as pa
import torch
from torch import Tensor

from multiout.data.batching import BatchDataset
from multiout.data.spec import DataSpec
from multiout.data.splits import SPLITS
from multiout.data.tables.labels import LabelMapping
from multiout.data.tables.read import Table, read_columns
from multiout.data.tables.source import TableSource, column_keys, permute_rows_, split_files
from multiout.data.tensor_datamodule import TensorDataModule
from multiout.data.windows.series import check_series_length, series_layout, split_series, window_ends
from multiout.errors import InputError

log = logging.getLogger(__name__)


class WindowedRows(BatchDataset):
    """Windows of `window` rows of `features` `[N, F]` ending at the rows `ends`, with the
    `per_row` tensors (targets `[N, C]`) at those ends: a batch of indices gathers
    `[B, L, F]` and `[B, C]` in one indexing call each."""

    def __init__(self, features: Tensor, ends: Tensor, window: int, *per_row: Tensor) -> None:
        # Every window of the table as a view, `[N - L + 1, L, F]`, window s = rows s to s + L - 1:
        # no copy; each window is L x F contiguous values, so a batch copies B blocks, not B x L rows.
        self.windows = features.unfold(0, window, 1).transpose(1, 2)
        self.ends, self.per_row, self.context = ends, per_row, window - 1

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: Tensor) -> tuple[Tensor, ...]:
        ends = self.ends.index_select(0, index.to(self.ends.device))
        starts = ends - self.context
        if self.windows.device.type == "cpu":
            # NumPy's indexing copies the B blocks about as fast as index_select on one thread,
            # and stays so when the threads torch would use are busy (scripts/bench/windows_loader.py).
            x = torch.from_numpy(self.windows.numpy()[starts.numpy()])
        else:
            x = self.windows.index_select(0, starts)
        return (x, *[t.index_select(0, ends) for t in self.per_row])


class WindowsDataModule(TensorDataModule):
    """Windows of one time-ordered file split in time by fractions (`path`), or of one file
    per split. `self.splits[split]` is `(features [N, F], window ends [W], targets [N, C])`.
    `**columns`: the column keys, as `data=tabular` takes them (`ColumnKeys`)."""

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
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        batch_size: int = 256,
        num_workers: int = 0,
        shuffle_seed: int = 0,
        device_resident_max_gb: float = 4.0,
        device_resident_on_cpu: bool = False,
        spec: dict | None = None,
        **columns: Any,
    ) -> None:
        super().__init__(
            batch_size, num_workers, shuffle_seed, device_resident_max_gb, device_resident_on_cpu
        )
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise InputError(f"data.window must be a positive number of rows, got {window!r}")
        trained = None if spec is None else DataSpec.from_dict(spec)
        if trained is not None and trained.input.shape[0] != window:
            raise InputError(
                f"data.window={window}, but the checkpoint's model was trained on windows of "
                f"{trained.input.shape[0]} rows"
            )
        keys = column_keys(columns, "data=windows")
        self.window, self.keys = window, (time_column, group_column)
        series_keys = [k for k in self.keys if k is not None and k != keys.id_column]
        files = split_files(path, train_path, val_path, test_path)
        self.table = TableSource(files, predict_path, keys, trained, also_excluded=series_keys)
        self.fractions = (val_fraction, test_fraction)
        self.ignore_index = keys.ignore_index
        self.feature_names, self.channel_names = self.table.columns.features, self.table.columns.targets
        self.predict_ids: pa.ChunkedArray | None = None
        self._spec: DataSpec | None = None

    @property
    def num_classes(self) -> int:  # type: ignore[override]
        self.labels()
        return self.table.num_classes

    def labels(self) -> LabelMapping:
        """The label mapping of the target columns, `auto` resolved from the training rows."""

        def training(targets: pa.Table) -> pa.Table:
            path = self.table.train_file
            order, bounds = self._layout(path, targets.num_rows)
            if order is not None:
                targets = targets.take(pa.array(order))
            if "all" in self.table.files:
                targets = targets.take(pa.array(self._split_rows(path, bounds)[1].numpy()))
            return targets

        return self.table.labels(training)

    def setup(self, stage: str | None = None) -> None:
        if stage == "predict":
            if "predict" not in self.splits and self.table.predict_path is not None:
                self._setup_predict(self.table.predict_path)
            return
        if "train" in self.splits or not self.table.files:
            return
        if "all" in self.table.files:
            path = self.table.files["all"]
            read, bounds = self._read(path, with_targets=True)
            ends, rows = self._split_rows(path, bounds)
            x, y = torch.from_numpy(read.features), torch.from_numpy(read.targets)
            self.table.learn(x, read.categories, y, rows, ends["train"])
            self.table.to_vocabularies("all", x, read.categories)
            self.splits.update({split: (x, ends[split], y) for split in SPLITS})
            return
        categories = {}
        for split, path in self.table.files.items():
            read, bounds = self._read(path, with_targets=True)
            check_series_length(bounds, self.window, path)
            x, y = torch.from_numpy(read.features), torch.from_numpy(read.targets)
            at = window_ends(bounds, self.window)
            if split == "train":
                self.table.learn(x, read.categories, y, target_rows=at)
            self.splits[split] = (x, at, y)
            categories[split] = read.categories
        for split, files in categories.items():
            self.table.to_vocabularies(split, self.splits[split][0], files)

    def _setup_predict(self, path: str) -> None:
        read, bounds = self._read(path, with_targets=False)
        ends = window_ends(bounds, self.window)
        if not len(ends):
            raise InputError(
                f"{path}: no series has data.window={self.window} rows, so no row has a full window "
                "to predict from"
            )
        if len(ends) < len(read.features):
            log.info(
                f"predict: {len(read.features) - len(ends)} of {len(read.features)} rows of {path} "
                f"have fewer than data.window - 1 = {self.window - 1} earlier rows in their series: "
                "no prediction for them"
            )
        x = torch.from_numpy(read.features)
        self.table.to_vocabularies("predict", x, read.categories)
        self.splits["predict"] = (x, ends)
        self.predict_ids = None if read.ids is None else read.ids.take(pa.array(ends.numpy()))

    def _read(self, path: str, with_targets: bool) -> tuple[Table, list[tuple[int, int]]]:
        """The file's rows in time order (within each series), and each series' bounds."""
        read = self.table.read(path, with_targets, self.labels() if with_targets else None)
        order, bounds = self._layout(path, len(read.features))
        if order is not None:
            index = torch.from_numpy(order)
            permute_rows_(read.features, index)
            if read.targets is not None:
                permute_rows_(read.targets, index)
            if read.ids is not None:
                read.ids = read.ids.take(pa.array(order))
        return read, bounds

    def _layout(self, path: str, num_rows: int | None = None) -> tuple:
        if num_rows is None:
            num_rows = read_columns(path, self.table.columns.targets[:1]).num_rows
        return series_layout(path, num_rows, *self.keys)

    def _split_rows(self, path: str, bounds: list[tuple[int, int]]) -> tuple[dict[str, Tensor], Tensor]:
        return split_series(bounds, self.window, *self.fractions, path)

    def _dataset(self, tensors: tuple[Tensor, ...]) -> WindowedRows:
        features, ends, *targets = tensors
        return WindowedRows(features, ends, self.window, *targets)

    def data_spec(self) -> DataSpec:
        if self._spec is None:
            self.setup("fit")
            self._spec = self.table.spec(example_shape=[self.window, len(self.feature_names)])
        return self._spec

    @property
    def categorical_features(self) -> dict[str, list]:
        if self.table.vocabularies is None:
            self.setup("fit")
        return self.table.vocabularies or {}
