"""Parquet datasets larger than memory: each process streams its share of the row groups.

Each split is a file, a directory or a glob of Parquet files, read where it lies with
pyarrow's dataset API: only footers when the module is built (columns and row counts are
checked at once), the rows themselves a window at a time while an epoch runs. Memory stays
near one shuffle window and one row group, whatever the size of the data.

Training shuffles in two steps, both drawn from (shuffle seed, epoch): the order of the row
groups, then the rows within each window of `shuffle_window` rows. Batches are cut as the
in-memory loader cuts them (`ShardedBatchSampler`): every process gets the same number of
batches, each row is used exactly once per epoch, and validation and test neither pad nor
drop rows, so metrics under DDP equal those of one process. The position within an epoch is
in every checkpoint, so a run resumed mid-epoch continues with the next batch.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import pyarrow as pa
import torch
from lightning.pytorch.accelerators import CUDAAccelerator
from lightning.pytorch.trainer.states import TrainerFn

from multiout.data.batching import EpochPosition
from multiout.data.spec import DataSpec
from multiout.data.splits import SPLITS
from multiout.data.stream.batches import StreamBatches, StreamSampler
from multiout.data.stream.parquet_files import check_schema, open_split
from multiout.data.stream.rows import GroupReader
from multiout.data.stream.statistics import cached_statistics, compute_statistics
from multiout.data.tables.categories import FileCategories, VocabularyIndices
from multiout.data.tables.columns import Columns, resolve_columns, schema_categorical
from multiout.data.tables.encoder import Categories, RowEncoder
from multiout.data.tables.labels import LabelMapping, distinct_labels, resolve_label_values
from multiout.data.tables.read import check_feature_types
from multiout.data.tables.source import column_keys, statistics_spec
from multiout.data.tables.statistics import TrainStatistics
from multiout.data.tensor_datamodule import move_batch
from multiout.errors import InputError


class StreamDataModule(L.LightningDataModule):
    """Splits from Parquet files that are never loaded whole (see the module docstring).

    `__init__` reads only footers: columns, types and row counts of every file are checked
    at once. Statistics of the training split come from one cached pass over its files.
    """

    # Process r predicts a contiguous range of rows that precedes process r+1's: the parts of
    # predictions.csv that the processes write, joined in rank order, are in input order.
    predicts_in_rank_order = True

    def __init__(
        self,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        predict_path: str | None = None,
        batch_size: int = 256,
        shuffle_seed: int = 0,
        shuffle_window: int = 65_536,
        cache_statistics: bool = True,
        storage_options: dict | None = None,
        spec: dict | None = None,
        **columns: Any,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise InputError(f"data.batch_size must be a positive integer, got {batch_size}")
        self.batch_size, self.shuffle_seed = batch_size, shuffle_seed
        self.position = EpochPosition()
        # Rebuilt from a checkpoint (evaluate, predict): its columns, labels and vocabularies.
        trained = None if spec is None else DataSpec.from_dict(spec)
        vocabularies = None if trained is None else trained.input.categorical
        keys = column_keys(columns, "data=stream")
        target_columns, feature_columns = keys.target_columns, keys.feature_columns
        if trained is not None:
            feature_columns, target_columns = trained.input.feature_names, trained.output.channel_names
        if shuffle_window < 1:
            raise InputError(f"data.shuffle_window must be a positive number of rows, got {shuffle_window}")
        paths = {
            s: p for s, p in zip(SPLITS, (train_path, val_path, test_path), strict=True) if p is not None
        }
        self.files = {
            split: open_split(path, f"data.{split}_path", storage_options) for split, path in paths.items()
        }
        if predict_path is not None:
            self.files["predict"] = open_split(predict_path, "data.predict_path", storage_options)
        if not self.files:
            raise InputError("data: no files given; set data.train_path, data.val_path and data.test_path")
        reference = next(iter(self.files.values()))
        labelled = any(split != "predict" for split in self.files)
        self.columns = resolve_columns(
            reference.schema.names, reference.files[0].path, target_columns, feature_columns,
            list(keys.exclude_columns or []), keys.id_column, labelled,
        )  # fmt: skip
        # Categorical features: from a checkpoint's vocabularies (evaluate, predict), else the schema.
        listed = keys.categorical_columns if vocabularies is None else list(vocabularies)
        self.categorical = schema_categorical(
            reference.schema, self.columns.features, listed, reference.files[0].path
        )
        check_feature_types(reference.schema, self.columns, reference.files[0].path, self.categorical)
        self.vocabularies = None if vocabularies is None else {k: list(v) for k, v in vocabularies.items()}
        self._spec: DataSpec | None = None
        self.allow_missing, self.max_categories = keys.missing_features == "impute", keys.max_categories
        predict_columns = Columns(self.columns.features, [], self.columns.id)
        for split, files in self.files.items():
            check_schema(files, predict_columns if split == "predict" else self.columns, reference)
        self.shuffle_window = shuffle_window
        self.cache_statistics = cache_statistics
        self.ignore_index = ignore_index = keys.ignore_index
        # Each target's labels in class order; None until the training files say (auto).
        self.label_values = (
            resolve_label_values(keys.label_values, self.columns.targets, ignore_index)
            if trained is None
            else trained.output.label_values
        )
        self.feature_names = self.columns.features
        self.channel_names = self.columns.targets
        self.predict_ids = None  # ids travel with each predicted batch
        self._statistics: TrainStatistics | None = None

    def prepare_data(self) -> None:
        """The statistics pass, on one process per node (Lightning calls this hook there only,
        then holds the others until it returns): it writes the cache that `setup` reads.
        Only for fitting: testing and predicting take what they need from the checkpoint."""
        fitting = self.trainer is None or self.trainer.state.fn == TrainerFn.FITTING
        if fitting and "train" in self.files:
            self._train_statistics()

    def setup(self, stage: str | None = None) -> None:
        """Rows are read as batches are asked for; fitting needs the training statistics, read
        from the cache `prepare_data` wrote, or made here where it could not write one."""
        if stage == "fit":
            self._train_statistics()

    def _train_statistics(self) -> TrainStatistics:
        """The training split's statistics: from the cache or one pass, once per process."""
        if self._statistics is None:
            if "train" not in self.files:
                raise InputError("data: no train split; set data.train_path")
            compute = cached_statistics if self.cache_statistics else compute_statistics
            encoder = self._encoder("train", statistics_pass=True)
            self._statistics = compute(self.files["train"], encoder, self.max_categories)
        return self._statistics

    @property
    def categorical_features(self) -> dict[str, list]:
        """Each categorical feature's vocabulary: entry `i` is index `i + 1` in `x`, 0 is unseen."""
        if self.vocabularies is None:
            if self.categorical and "train" not in self.files:
                raise InputError(
                    f"data: categorical columns {self.categorical} need their vocabularies from a train "
                    f"split (data.train_path) or a checkpoint (ckpt_path)"
                )
            self.vocabularies = self._train_statistics().vocabularies if self.categorical else {}
        return self.vocabularies

    @property
    def num_classes(self) -> int:
        return max(len(values) for values in self.labels().values)

    def data_spec(self) -> DataSpec:
        """As `TabularDataModule.data_spec`, from the one pass over the training files."""
        if self._spec is None:
            statistics, path = self._train_statistics(), self.files["train"].key
            self._spec = statistics_spec(self.columns, statistics, self.labels(), path)
        return self._spec

    def labels(self) -> LabelMapping:
        """The label mapping of the target columns, `auto` resolved from the training files."""
        if self.label_values is None:
            if "train" not in self.files:
                raise InputError("data.label_values=auto needs a train split (data.train_path)")
            split, names = self.files["train"], self.columns.targets
            table = pa.concat_tables(group.fragment.to_table(columns=names) for group in split.row_groups)
            self.label_values = [distinct_labels(table.column(name), name, split.key) for name in names]
        return LabelMapping(self.columns.targets, self.label_values, self.ignore_index)

    def train_dataloader(self) -> StreamBatches:
        loader = self._loader("train", shuffle=True)
        self.position.track(loader)
        return loader

    def val_dataloader(self) -> StreamBatches:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> StreamBatches:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> StreamBatches:
        return self._loader("predict", shuffle=False)

    def state_dict(self) -> dict[str, dict[str, int]]:
        """Saved in every checkpoint: how far the current training epoch has got."""
        return self.position.state_dict()

    def load_state_dict(self, state: dict[str, dict[str, int]]) -> None:
        self.position.load_state_dict(state)

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        moved = move_batch(batch, device)
        return moved if moved is not None else super().transfer_batch_to_device(batch, device, dataloader_idx)

    def _encoder(self, split: str, statistics_pass: bool = False) -> RowEncoder:
        """The split's converter: categories as file codes in the statistics pass (which finds
        the vocabularies), as vocabulary indices after."""
        columns = self.columns
        if split == "predict":
            columns = Columns(columns.features, [], columns.id)
        categories: dict[str, Categories]
        if statistics_pass:
            categories = {name: FileCategories() for name in self.categorical}
        else:
            categories = {
                name: VocabularyIndices(self.categorical_features[name]) for name in self.categorical
            }
        labels = self.labels() if columns.targets else None
        return RowEncoder(columns, labels, categories, self.allow_missing)

    def _loader(self, split: str, shuffle: bool) -> StreamBatches:
        trainer = self.trainer
        if trainer is None:
            return self.batches(split, shuffle)
        # Lightning's overfitting mode wants the same first batches every epoch.
        shuffle = shuffle and not trainer.overfit_batches  # type: ignore[attr-defined]
        on_cuda = isinstance(trainer.accelerator, CUDAAccelerator)
        return self.batches(split, shuffle, trainer.global_rank, trainer.world_size, pin_memory=on_cuda)

    def batches(
        self, split: str, shuffle: bool, rank: int = 0, world_size: int = 1, pin_memory: bool = False
    ) -> StreamBatches:
        """Process `rank`'s batches of `split` (of `world_size` processes)."""
        if split not in self.files:
            raise InputError(f"data: no {split} split; set data.{split}_path")
        files = self.files[split]
        sampler = StreamSampler(files, self.batch_size, shuffle, self.shuffle_seed, rank, world_size)
        return StreamBatches(
            files, GroupReader(self._encoder(split)), sampler, self.shuffle_window, pin_memory
        )
