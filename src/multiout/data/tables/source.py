"""What a data module that reads whole tables (`data=tabular` and the modules built on it)
knows of them: which file each split comes from, the columns, the categorical features, each
target's labels, and what the training rows taught (statistics, vocabularies), which become
its data spec.

Built from the config, it reads only the first file's header; rebuilt from a checkpoint's spec
(evaluate, predict), it takes the columns, labels and vocabularies from there, and each file is
checked for those columns as it is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from multiout.data.spec import DataSpec, table_spec
from multiout.data.splits import SPLITS
from multiout.data.tables.categories import FileCategories, to_vocabularies_
from multiout.data.tables.columns import Columns, file_columns, resolve_categorical, resolve_columns
from multiout.data.tables.labels import LabelMapping, distinct_labels, resolve_label_values
from multiout.data.tables.read import Table, read_columns, read_table
from multiout.data.tables.statistics import TrainStatistics, tensor_blocks, train_statistics
from multiout.errors import InputError
from multiout.metrics.per_channel import label_counts

MISSING_FEATURES = ("impute", "error")


@dataclasses.dataclass
class ColumnKeys:
    """The config keys that say which columns are what, as every table data module takes them."""

    target_columns: str | list[str] = "y_*"
    feature_columns: list[str] | None = None
    exclude_columns: Sequence[str] = ()
    id_column: str | None = None
    label_values: str | Sequence | Mapping = (-1, 0, 1)
    categorical_columns: str | list[str] = "auto"
    missing_features: str = "impute"
    max_categories: int = 1000
    ignore_index: int = -100

    def __post_init__(self) -> None:
        if self.missing_features not in MISSING_FEATURES:
            raise InputError(
                f"data.missing_features must be one of {list(MISSING_FEATURES)}, got {self.missing_features!r}"
            )
        if self.max_categories < 1:
            raise InputError(f"data.max_categories must be a positive integer, got {self.max_categories}")


def column_keys(given: Mapping[str, object], kind: str) -> ColumnKeys:
    """The column keys of a data module's config (`kind`, e.g. `data=tabular`, names it)."""
    fields = [field.name for field in dataclasses.fields(ColumnKeys)]
    unknown = [key for key in given if key not in fields]
    if unknown:
        raise InputError(f"data.{unknown[0]}: {kind} takes no such key; its column keys are {fields}")
    return ColumnKeys(**given)  # type: ignore[arg-type]


def table_columns(
    first: str, trained: DataSpec | None, keys: ColumnKeys, labelled: bool, also_excluded: Sequence[str] = ()
) -> tuple[Columns, list[str], list[list] | None]:
    """A table's columns, its categorical features and each target's labels in class order
    (None for `auto`, until the training split says): from the first file's header and the
    config keys, or as a checkpoint's spec says."""
    if trained is not None:
        columns = Columns(trained.input.feature_names, trained.output.channel_names, keys.id_column)
        return columns, list(trained.input.categorical), trained.output.label_values
    excluded = [*(keys.exclude_columns or []), *also_excluded]
    columns = resolve_columns(
        file_columns(first),
        first,
        keys.target_columns,
        keys.feature_columns,
        excluded,
        keys.id_column,
        labelled,
    )
    categorical = resolve_categorical(first, columns.features, keys.categorical_columns)
    return columns, categorical, resolve_label_values(keys.label_values, columns.targets, keys.ignore_index)


def split_files(path: str | None, train: str | None, val: str | None, test: str | None) -> dict[str, str]:
    """`{"all": path}` for one file split by fractions, else the split files given."""
    explicit = {split: p for split, p in zip(SPLITS, (train, val, test), strict=True) if p is not None}
    if path is not None and explicit:
        raise InputError(
            f"data.path is set, and so are {[f'data.{s}_path' for s in explicit]}: use one file split "
            f"by fractions, or one file per split, not both"
        )
    return {"all": path} if path is not None else explicit


class TableSource:
    """The files, columns, labels and training statistics of a table read whole (see the
    module docstring). `also_excluded`: columns the data module reads itself (time, group)."""

    def __init__(
        self,
        files: dict[str, str],
        predict_path: str | None,
        keys: ColumnKeys,
        trained: DataSpec | None,
        also_excluded: Sequence[str] = (),
    ) -> None:
        self.trained = trained
        self.files, self.predict_path, self.keys = files, predict_path, keys
        first = next(iter(files.values()), predict_path)
        if first is None:
            raise InputError(
                "data: no file given; set data.path (one file, split by data.val_fraction and "
                "data.test_fraction), or data.train_path, data.val_path and data.test_path"
            )
        self.columns, categorical, self.label_values = table_columns(
            first, trained, keys, bool(files), also_excluded
        )
        if trained is None:  # rebuilt from a checkpoint, files are checked as they are read
            self._check_files()
        self.categorical = {name: self.columns.features.index(name) for name in categorical}
        self.vocabularies = None if trained is None else dict(trained.input.categorical)
        self.statistics: TrainStatistics | None = None

    def _check_files(self) -> None:
        for path in self.files.values():
            _check_same_columns(path, self.columns)
        if self.predict_path is not None:
            _check_same_columns(self.predict_path, Columns(self.columns.features, [], self.columns.id))

    @property
    def train_file(self) -> str:
        """The file the training split comes from, as messages name it."""
        return self.files.get("all") or self.files.get("train", "data")

    @property
    def num_classes(self) -> int:
        return max((len(values) for values in self.label_values or []), default=0)

    def labels(self, training_targets: Callable[[pa.Table], pa.Table] = lambda t: t) -> LabelMapping:
        """The label mapping of the target columns; `auto`: each target's distinct values in
        the training rows, which `training_targets` picks from the training file's targets."""
        if self.label_values is None:
            path = self.train_file
            table = training_targets(read_columns(path, self.columns.targets))
            self.label_values = [distinct_labels(table.column(n), n, path) for n in self.columns.targets]
        return LabelMapping(self.columns.targets, self.label_values, self.keys.ignore_index)

    def read(self, path: str, with_targets: bool, labels: LabelMapping | None = None) -> Table:
        """A file's rows (`with_targets`: and class ids, by `labels`), categories as file codes."""
        columns = self.columns if with_targets else Columns(self.columns.features, [], self.columns.id)
        if self.trained is not None:  # rebuilt from a checkpoint: the file must have its columns
            _check_same_columns(path, columns)
        return read_table(
            path,
            columns,
            (labels or self.labels()) if with_targets else None,
            list(self.categorical),
            allow_missing=self.keys.missing_features == "impute",
        )

    def learn(
        self,
        x: Tensor,
        categories: dict[str, FileCategories],
        targets: Tensor,
        rows: Tensor | None = None,
        target_rows: Tensor | None = None,
    ) -> None:
        """The statistics and vocabularies of the training rows (`rows` of `x`, all by default;
        categorical features still as file codes) and the label counts of the training targets
        (`target_rows` of `targets`, all by default), a block at a time. Rebuilt from a
        checkpoint, the spec has them."""
        if self.vocabularies is not None:
            return
        statistics = train_statistics(
            tensor_blocks(x, None, rows), self.columns.features, categories, self.num_classes,
            self.keys.ignore_index, self.keys.max_categories, self.train_file,
        )  # fmt: skip
        counts = torch.zeros(len(self.columns.targets), self.num_classes, dtype=torch.long)
        # label_counts makes a few int64 copies of the rows it counts: small blocks keep them small.
        at = torch.arange(len(targets)) if target_rows is None else target_rows
        for block in at.split(8192):
            counts += label_counts(targets[block], self.num_classes, self.keys.ignore_index)
        self.statistics = dataclasses.replace(statistics, counts=counts.numpy())
        self.vocabularies = statistics.vocabularies

    def to_vocabularies(self, split: str, x: Tensor, categories: dict[str, FileCategories]) -> None:
        """Replaces the file codes of categorical features in `x` by vocabulary indices."""
        if not self.categorical:
            return
        if self.vocabularies is None:
            raise InputError(
                f"data: categorical columns {list(self.categorical)} need their vocabularies from a "
                f"train split (data.path or data.train_path) or a checkpoint (ckpt_path)"
            )
        to_vocabularies_(split, x, self.categorical, categories, self.vocabularies)

    def spec(self, example_shape: Sequence[int] | None = None) -> DataSpec:
        """The data spec of the training rows (`example_shape`: of one example, if not a row)."""
        if self.statistics is None:
            raise InputError("data: no train split; set data.path or data.train_path")
        return statistics_spec(self.columns, self.statistics, self.labels(), self.train_file, example_shape)


def statistics_spec(
    columns: Columns,
    statistics: TrainStatistics,
    labels: LabelMapping,
    path: object,
    example_shape: Sequence[int] | None = None,
) -> DataSpec:
    """The spec of a table's columns: the features as the tabular encoder reads them (the
    training rows' vocabularies, gaps and statistics) and the targets with their labels."""
    return table_spec(
        columns.features,
        statistics.vocabularies,
        statistics.imputed(columns.features, path),
        statistics.standardization(),
        columns.targets,
        labels.values,
        torch.from_numpy(statistics.counts),
        labels.ignore_index,
        example_shape,
    )


def _check_same_columns(path: str, columns: Columns) -> None:
    """Every later file must have the columns that the first one resolved to."""
    resolve_columns(
        file_columns(path),
        path,
        columns.targets,
        columns.features,
        [],
        columns.id,
        need_targets=bool(columns.targets),
    )


def permute_rows_(t: Tensor | np.ndarray, order: Tensor, parts: int = 8) -> None:
    """`t[:] = t[order]`, a slab of columns at a time: the temporary is 1/`parts` of `t`."""
    t = torch.from_numpy(t) if isinstance(t, np.ndarray) else t
    step = max(1, -(-t.shape[1] // parts))
    for start in range(0, t.shape[1], step):
        t[:, start : start + step] = t[order, start : start + step]
