"""Your own table: feature columns and many target columns from CSV or Parquet files.

Headers are read and checked when the module is built, every value in `setup`: a bad file,
column or label stops the run before training starts. Numeric features stay as they are in
the file (NaN where missing); categorical ones become indices of the training split's
vocabulary (`data/encoding.py`). The training split's statistics, vocabularies and gaps are
handed to the model, which standardizes, imputes and embeds with them and keeps them in its
checkpoint, so that evaluation and prediction on new files transform features exactly as
training did.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from multiout.data.batching import Batches
from multiout.data.columns import Columns, resolve_categorical, resolve_columns
from multiout.data.encoding import FileCategories
from multiout.data.labels import LabelMapping, distinct_labels, resolve_label_values
from multiout.data.missing import imputation_statistics, imputed_features
from multiout.data.spec import DataSpec, table_spec
from multiout.data.splits import SPLITS, split_indices, split_sizes
from multiout.data.table import Table, read_columns, read_table
from multiout.data.tensor_datamodule import TensorDataModule
from multiout.data.vocabularies import encode_categories_
from multiout.errors import InputError
from multiout.metrics.per_channel import label_counts

MISSING_FEATURES = ("impute", "error")


def table_columns(
    first: str,
    trained: DataSpec | None,
    column_keys: tuple[str | list[str], list[str] | None, list[str], str | None],
    categorical_columns: str | list[str],
    label_values: str | Sequence | Mapping,
    ignore_index: int,
    labelled: bool,
) -> tuple[Columns, list[str], list[list] | None]:
    """A table's columns, its categorical features and each target's labels in class order
    (None for `auto`, until the training split says): from the first file's header and the
    config keys (targets, features, excluded, id), or as a checkpoint's spec says."""
    if trained is not None:
        columns = Columns(trained.input.feature_names, trained.output.channel_names, column_keys[3])
        return columns, list(trained.input.categorical), trained.output.label_values
    columns = resolve_columns(first, *column_keys, labelled)
    categorical = resolve_categorical(first, columns.features, categorical_columns)
    return columns, categorical, resolve_label_values(label_values, columns.targets, ignore_index)


def columns_spec(module: Any) -> DataSpec:
    """The spec of a table's columns: the features as the tabular encoder reads them
    (vocabularies, gaps, the training split's statistics) and the targets with their labels.
    `module` is a data module that reads a table, held in memory or read as it streams."""
    return table_spec(
        module.feature_names,
        module.categorical_features,
        module.imputed_features,
        module.feature_statistics(),
        module.channel_names,
        module.labels().values,
        module.train_label_counts(),
        module.ignore_index,
    )


def check_feature_options(missing_features: str, max_categories: int) -> None:
    if missing_features not in MISSING_FEATURES:
        raise InputError(
            f"data.missing_features must be one of {list(MISSING_FEATURES)}, got {missing_features!r}"
        )
    if max_categories < 1:
        raise InputError(f"data.max_categories must be a positive integer, got {max_categories}")


class TabularDataModule(TensorDataModule):
    """Splits from one file (by `val_fraction`/`test_fraction`) or from one file per split.

    `__init__` reads only the files' headers: the columns, and so the shapes the model is built
    with, are known (and checked) at once. `setup` reads and checks every value.
    """

    def __init__(
        self,
        path: str | None = None,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        predict_path: str | None = None,
        target_columns: str | list[str] = "y_*",
        feature_columns: list[str] | None = None,
        exclude_columns: tuple[str, ...] | list[str] = (),
        id_column: str | None = None,
        label_values: str | Sequence | Mapping = (-1, 0, 1),
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        ordered_split: bool = False,
        num_folds: int | None = None,
        fold: int = 0,
        batch_size: int = 256,
        num_workers: int = 0,
        seed: int = 0,
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
        # Rebuilt from a checkpoint (evaluate, predict): its columns, labels and vocabularies.
        trained = None if spec is None else DataSpec.from_dict(spec)
        check_feature_options(missing_features, max_categories)
        self.files = _split_files(path, train_path, val_path, test_path)
        self.predict_path = predict_path
        first = next(iter(self.files.values()), predict_path)
        if first is None:
            raise InputError(
                "data: no file given; set data.path (one file, split by data.val_fraction and "
                "data.test_fraction), or data.train_path, data.val_path and data.test_path"
            )
        self.columns, categorical, self.label_values = table_columns(
            first, trained, (target_columns, feature_columns, list(exclude_columns or []), id_column),
            categorical_columns, label_values, ignore_index, labelled=bool(self.files),
        )  # fmt: skip
        if trained is None:  # rebuilt from a checkpoint, files are checked as they are read
            for split_path in self.files.values():
                _check_same_columns(split_path, self.columns)
            if predict_path is not None:
                _check_same_columns(predict_path, Columns(self.columns.features, [], self.columns.id))
        self.checked = trained is None
        if path is not None and ordered_split and num_folds is not None:
            raise InputError("data.num_folds needs data.ordered_split=false: folds are drawn at random")
        self.split_options = (val_fraction, test_fraction, seed, ordered_split, (num_folds, fold))
        self.ignore_index = ignore_index
        self.feature_names = self.columns.features
        self.channel_names = self.columns.targets
        self.predict_ids: pa.ChunkedArray | None = None
        self.categorical = {name: self.feature_names.index(name) for name in categorical}
        self.allow_missing, self.max_categories = missing_features == "impute", max_categories
        self.vocabularies = None if trained is None else dict(trained.input.categorical)
        self._imputed: list[str] | None = None
        self._statistics: tuple[Tensor, Tensor, Tensor] | None = None
        self._read = False  # the labelled files

    @property
    def num_classes(self) -> int:  # type: ignore[override]
        return max(len(values) for values in self.labels().values)

    def labels(self) -> LabelMapping:
        """The label mapping of the target columns, `auto` resolved from the training split."""
        if self.label_values is None:
            self.label_values = self._training_labels()
        return LabelMapping(self.columns.targets, self.label_values, self.ignore_index)

    def _training_labels(self) -> list[list]:
        """`data.label_values=auto`: each target's distinct values in the training rows."""
        path = self._train_file
        table = read_columns(path, self.columns.targets)
        if "all" in self.files:
            table = table.take(pa.array(_train_rows(table.num_rows, *self.split_options).numpy()))
        return [distinct_labels(table.column(name), name, path) for name in self.columns.targets]

    def setup(self, stage: str | None = None) -> None:
        read = functools.partial(
            self._read_file, categorical=list(self.categorical), allow_missing=self.allow_missing
        )
        if stage == "predict":
            if "predict" not in self.splits and self.predict_path is not None:
                table = read(self.predict_path, with_targets=False)
                self.splits["predict"] = (torch.from_numpy(table.features),)
                self.predict_ids = table.ids
                self._to_vocabularies({"predict": table.categories})
            return
        if self._read or not self.files:
            return
        self._read = True
        if "all" in self.files:
            table = read(self.files["all"])
            self.splits.update(_split_table(table, *self.split_options))
            self._to_vocabularies({split: table.categories for split in SPLITS})
            return
        categories = {}
        for split, split_path in self.files.items():
            table = read(split_path)
            self.splits[split] = (torch.from_numpy(table.features), torch.from_numpy(table.targets))
            categories[split] = table.categories
        self._to_vocabularies(categories)

    def _read_file(self, path: str, with_targets: bool = True, **options: Any) -> Table:
        columns = self.columns if with_targets else Columns(self.columns.features, [], self.columns.id)
        if not self.checked:  # rebuilt from a checkpoint: the file must have its columns
            _check_same_columns(path, columns)
        return read_table(path, columns, self.labels() if with_targets else None, **options)

    def data_spec(self) -> DataSpec:
        return columns_spec(self)

    def train_label_counts(self) -> Tensor:
        """`[C, K]` count of each class per channel in the training labels."""
        return label_counts(self._train_split()[1], self.num_classes, self.ignore_index)

    def _to_vocabularies(self, categories: dict[str, dict[str, FileCategories]]) -> None:
        """File codes of categorical features -> indices of the training split's vocabularies."""
        if not self.categorical:
            self.vocabularies = self.vocabularies or {}
            return
        self.vocabularies = encode_categories_(
            self.splits,
            categories,
            self.categorical,
            self.vocabularies,
            self.max_categories,
            self._train_file,
        )

    @property
    def _train_file(self) -> str:
        """The file the training split comes from, as messages name it."""
        return self.files.get("all") or self.files.get("train", "data")

    @property
    def categorical_features(self) -> dict[str, list]:
        """Each categorical feature's vocabulary: entry `i` is index `i + 1` in `x`, 0 is unseen."""
        if self.vocabularies is None:
            self.setup("fit")
        return self.vocabularies or {}

    @property
    def imputed_features(self) -> list[str]:
        """Numeric features with gaps in the training split: the model adds a missing indicator
        for each (and imputes every missing number with the training median)."""
        if self._imputed is None:
            train = self._train_features()
            self._imputed = imputed_features(
                train, self.feature_names, self.categorical_features, self._train_file
            )
        return self._imputed

    def feature_statistics(self) -> tuple[Tensor, Tensor, Tensor]:
        """The training split's per-feature mean, standard deviation and median over the values
        present (0, 1, 0 for categorical features), which the model standardizes and imputes
        with (and keeps in its checkpoints)."""
        if self._statistics is None:
            numeric = [j for j, name in enumerate(self.feature_names) if name not in self.categorical]
            self._statistics = imputation_statistics(self._train_features(), numeric)
        return self._statistics

    def _train_features(self) -> Tensor:
        return self._train_split()[0]

    def _train_split(self) -> tuple[Tensor, ...]:
        self.setup("fit")
        if "train" not in self.splits:
            raise InputError("data: no train split; set data.path or data.train_path")
        return self.splits["train"]

    def predict_dataloader(self) -> Batches:
        return self._loader("predict", shuffle=False)

    def _loader(self, split: str, shuffle: bool) -> Batches:
        if split not in self.splits:
            key = "data.predict_path" if split == "predict" else f"data.path or data.{split}_path"
            raise InputError(f"data: no {split} split; set {key}")
        return super()._loader(split, shuffle)


def _split_files(path: str | None, train: str | None, val: str | None, test: str | None) -> dict[str, str]:
    explicit = {split: p for split, p in zip(SPLITS, (train, val, test), strict=True) if p is not None}
    if path is not None and explicit:
        raise InputError(
            f"data.path is set, and so are {[f'data.{s}_path' for s in explicit]}: use one file split "
            f"by fractions, or one file per split, not both"
        )
    return {"all": path} if path is not None else explicit


def _check_same_columns(path: str, columns: Columns) -> None:
    """Every later file must have the columns that the first one resolved to."""
    resolve_columns(
        path, columns.targets, columns.features, [], columns.id, need_targets=bool(columns.targets)
    )


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
        _permute_rows_(x, order)
        _permute_rows_(y, order)
    bounds = np.cumsum([0, *(sizes[s] for s in SPLITS)]).tolist()
    return {s: (x[a:b], y[a:b]) for s, a, b in zip(SPLITS, bounds[:-1], bounds[1:], strict=True)}


def _permute_rows_(t: Tensor, order: Tensor, parts: int = 8) -> None:
    """`t[:] = t[order]`, a slab of columns at a time: the temporary is 1/`parts` of `t`."""
    step = max(1, -(-t.shape[1] // parts))
    for start in range(0, t.shape[1], step):
        t[:, start : start + step] = t[order, start : start + step]
