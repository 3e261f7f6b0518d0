"""A LightningDataModule base for data held as in-memory tensors."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch
from lightning.pytorch.accelerators import CUDAAccelerator
from torch import Tensor

from multiout.data.batching import (
    BatchDataset,
    Batches,
    EpochPosition,
    IndexedTensors,
    batch_loader,
    sequential_loader,
)
from multiout.data.spec import DataSpec, InputSpec, OutputSpec, per_channel
from multiout.errors import InputError
from multiout.metrics.per_channel import default_channel_names, label_counts

log = logging.getLogger(__name__)


class TensorDataModule(L.LightningDataModule):
    """Serves `(x, y)` splits from tensors that subclasses put in `self.splits` in `setup`.

    Batches come from `batch_loader`, which shards them across processes itself, each sample
    exactly once per epoch: multi-process validation and test metrics are exact.

    `device_resident_max_gb`: on an accelerator (a GPU), the splits' tensors, as long as
    together they take at most this many GiB, move there once, when their loader is first
    asked for, and stay for the run; each batch is then gathered there, with no copy from
    the host per step. 0 turns this off. On a CPU nothing moves (the tensors already are
    where the model reads them) unless `device_resident_on_cpu` (for tests, not in
    `conf/data/`: the same code path as on a GPU). Never with `num_workers > 0`, whose
    workers gather on the host.
    """

    num_classes = 0  # classes per channel, where a subclass knows them; else the labels say

    def __init__(
        self,
        batch_size: int,
        num_workers: int,
        shuffle_seed: int,
        device_resident_max_gb: float = 4.0,
        device_resident_on_cpu: bool = False,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise InputError(f"data.batch_size must be a positive integer, got {batch_size}")
        if num_workers < 0:
            raise InputError(f"data.num_workers must be 0 or more, got {num_workers}")
        if device_resident_max_gb < 0:
            raise InputError(
                f"data.device_resident_max_gb must be 0 (off) or more, got {device_resident_max_gb}"
            )
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.shuffle_seed = shuffle_seed
        self.device_resident_max_gb = device_resident_max_gb
        self.device_resident_on_cpu = device_resident_on_cpu
        self.splits: dict[str, tuple[Tensor, ...]] = {}
        self.resident: dict[str, tuple[Tensor, ...]] = {}  # splits moved to the accelerator
        self.ignore_index = -100  # the label of a missing cell; data with such cells set it
        self.position = EpochPosition()

    def train_dataloader(self) -> Batches:
        loader = self._loader("train", shuffle=True)
        self.position.track(loader)
        return loader

    def data_spec(self) -> DataSpec:
        """What the model learns of this data, from the training tensors: the shape of one
        example, the channels and their classes (ids 0 to K-1, K = `num_classes`), the
        training label counts, default names. A data module that knows more (feature names,
        statistics, label values) returns its own."""
        self.setup("fit")
        x, y = self.splits["train"][:2]
        num_classes = self.num_classes or int(y[y != self.ignore_index].max()) + 1
        return DataSpec(
            InputSpec(shape=list(x.shape[1:]), feature_names=[f"x{j}" for j in range(x.shape[-1])]),
            OutputSpec(
                default_channel_names(y.shape[1]),
                per_channel(range(num_classes), y.shape[1]),
                label_counts(y, num_classes, self.ignore_index).tolist(),
                self.ignore_index,
            ),
        )

    def state_dict(self) -> dict[str, dict[str, int]]:
        """Saved in every checkpoint: how far the current training epoch has got."""
        return self.position.state_dict()

    def load_state_dict(self, state: dict[str, dict[str, int]]) -> None:
        """Restored before training resumes, so a mid-epoch checkpoint continues the same epoch."""
        self.position.load_state_dict(state, self.num_workers)

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        moved = move_batch(batch, device)
        return moved if moved is not None else super().transfer_batch_to_device(batch, device, dataloader_idx)

    def val_dataloader(self) -> Batches:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> Batches:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> Batches:
        return self._loader("predict", shuffle=False)

    def _loader(self, split: str, shuffle: bool) -> Batches:
        if split not in self.splits:
            key = "data.predict_path" if split == "predict" else f"data.path or data.{split}_path"
            raise InputError(f"data: no {split} split; set {key}")
        trainer = self.trainer
        dataset = self._dataset(self.splits[split])
        if trainer is not None and trainer.overfit_batches:  # type: ignore[attr-defined]
            # Lightning swaps in a SequentialSampler to overfit the same batches every epoch.
            return sequential_loader(dataset, self.batch_size)
        rank, world_size = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        device = self._resident_device(split)
        if device is not None:
            dataset = self._dataset(self.resident[split])
        on_cuda = trainer is not None and isinstance(trainer.accelerator, CUDAAccelerator)
        return batch_loader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            seed=self.shuffle_seed,
            rank=rank,
            world_size=world_size,
            num_workers=self.num_workers,
            # Pinned host memory lets the copy of each batch to the GPU overlap compute.
            pin_memory=on_cuda and device is None,
            device=device,
        )

    def examples(self, split: str) -> tuple[Tensor, ...]:
        """Every example of `split` at once, `(x, y)` (windows gathered, a copy): what the
        baselines fit on."""
        self.setup("fit")
        dataset = self._dataset(self.splits[split])
        return dataset[torch.arange(len(dataset))]

    def _dataset(self, tensors: tuple[Tensor, ...]) -> BatchDataset:
        """A split's tensors as a dataset indexed by whole batches: rows of equal-length tensors
        here; a subclass whose splits hold other layouts (windows over rows) gives its own."""
        return IndexedTensors(*tensors)

    def _resident_device(self, split: str) -> torch.device | None:
        """The device that holds `split` for its batches to be gathered on (moved there on first
        use), or None: batches are gathered on the host."""
        trainer = self.trainer
        if trainer is None or not self.device_resident_max_gb or self.num_workers:
            return None
        device = trainer.strategy.root_device
        if device.type == "cpu" and not self.device_resident_on_cpu:
            return None
        if any(tensors[0].device != device for tensors in self.resident.values()):
            self.resident = {}  # a later trainer on another device
        if split not in self.resident:
            # Splits may share a tensor (windows over one table): each moves, and counts, once.
            moved = {
                id(t): r for s, rs in self.resident.items() for t, r in zip(self.splits[s], rs, strict=True)
            }
            held = {id(t): t for s in (*self.resident, split) for t in self.splits[s]}
            size = sum(t.nbytes for t in held.values())
            if size > self.device_resident_max_gb * 2**30:
                log.info(f"{split} split stays on the host: with it, the data on {device} would take "
                         f"{size / 2**30:.2f} GiB, over data.device_resident_max_gb={self.device_resident_max_gb}")  # fmt: skip
                return None
            self.resident[split] = tuple(
                moved[id(t)] if id(t) in moved else t.to(device) for t in self.splits[split]
            )
        return device


def move_batch(batch: Any, device: torch.device) -> Any:
    """A batch that is a tuple (a list, after some DataLoader pinning) of tensors, moved as such
    without Lightning's walk over arbitrary collections (tens of microseconds, every step); None
    for any other batch. Called from the data module rather than the LightningModule, where
    Lightning would warn that a data module is also in play."""
    if type(batch) in (tuple, list) and all(isinstance(t, Tensor) for t in batch):
        # Asynchronous copies as Lightning makes them: not to the CPU, not to Apple GPUs.
        non_blocking = device.type not in ("cpu", "mps")
        return type(batch)(t.to(device, non_blocking=non_blocking) for t in batch)
    return None
