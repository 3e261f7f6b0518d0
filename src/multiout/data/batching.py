"""Fast, exact batching out of in-memory tensors.

A batch is one fancy-indexing call per tensor (no per-row `__getitem__`, no collate), and
the sampler shards batches across processes itself, so that multi-process evaluation sees
every sample exactly once: no padding with repeated samples, no dropped tail.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from multiout.errors import InputError

log = logging.getLogger(__name__)


class BatchDataset(Dataset):
    """A dataset indexed by a whole batch of indices at once (a `Tensor`), giving a tuple of
    batched tensors: what the loaders below serve from."""

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: Tensor) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, ...]:
        """Called by a DataLoader with `batch_size` set: still one indexing call per batch."""
        return self[torch.as_tensor(indices)]


class IndexedTensors(BatchDataset):
    """Tensors of equal length, indexed by a whole batch of row indices at once."""

    def __init__(self, *tensors: Tensor) -> None:
        if len({len(t) for t in tensors}) != 1:
            raise ValueError("all tensors must have the same number of rows")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: Tensor) -> tuple[Tensor, ...]:
        # index_select: the same rows as `t[index]`, about 3x faster on CPU for a batch.
        return tuple([t.index_select(0, index) for t in self.tensors])


_MASK64 = 2**64 - 1


def _splitmix64(x: int) -> int:
    """SplitMix64's output function: neighbouring inputs give unrelated 64-bit outputs."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def derived_seed(*keys: int) -> int:
    """A 63-bit seed that depends only on `keys` (and their order), well mixed even for
    neighbouring keys.

    Plain integer arithmetic: it runs before every training step (see `StepSeed`), where
    NumPy's `SeedSequence` cost several times more.
    """
    state = len(keys)
    for key in keys:
        state = _splitmix64(state ^ (key & _MASK64))
    return state >> 1


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator that depends only on (seed, epoch), so a resumed run shuffles alike."""
    return torch.Generator().manual_seed(derived_seed(seed, epoch))


# How a training epoch is cut into this process's batches, and the settings that decide it.
LAYOUT_SETTINGS = {
    "num_samples": "training samples (data)",
    "batch_size": "data.batch_size",
    "world_size": "processes (trainer.devices x trainer.num_nodes)",
    "seed": "shuffle seed (data.shuffle_seed, from seed)",
    "shuffle": "shuffle",
}


class ShardedBatchSampler(Sampler[Tensor]):
    """Yields this process's index batches for one epoch.

    The (optionally shuffled) indices are cut into `num_batches * world_size` chunks whose
    sizes differ by at most one, and each process takes every `world_size`-th chunk. So every
    process gets the same number of batches (DDP needs that), no batch exceeds `batch_size`,
    and each sample is used exactly once per epoch across all processes.
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if num_samples < world_size:
            raise ValueError(f"{num_samples} samples cannot be shared by {world_size} processes")
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.batches_done = 0  # of this epoch, yielded so far
        self._resume: dict[str, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of each epoch."""
        self.epoch = epoch

    def state_dict(self) -> dict[str, int]:
        """Where the epoch stands, so that a run resumed mid-epoch skips the batches it trained on,
        and how the epoch was cut, which the resumed run must share for that skip to be right.

        Batches yielded equal batches trained only without loader workers (`num_workers=0`),
        which prefetch ahead of training.
        """
        return {"epoch": self.epoch, "batches_done": self.batches_done, **self._layout()}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """The next iteration over epoch `state["epoch"]` starts after its first `batches_done` batches."""
        self._resume = dict(state)

    def _layout(self) -> dict[str, int]:
        return {
            "num_samples": self.num_samples,
            "batch_size": self.batch_size,
            "world_size": self.world_size,
            "seed": self.seed,
            "shuffle": int(self.shuffle),
        }

    def _check_layout(self, state: dict[str, int]) -> None:
        """A mid-epoch state skips the right batches only if this epoch is cut the same way."""
        now = self._layout()
        # Older states hold no cut: trusted as they are.
        differing = [key for key in LAYOUT_SETTINGS if key in state and state[key] != now[key]]
        if differing:
            saved = ", ".join(f"{LAYOUT_SETTINGS[key]} {state[key]}" for key in differing)
            current = ", ".join(f"{LAYOUT_SETTINGS[key]} {now[key]}" for key in differing)
            raise InputError(
                f"the checkpoint stopped mid-epoch (epoch {state['epoch']}, after {state['batches_done']} "
                f"batches) with {saved}; this run has {current}. Resume with the same settings (the "
                "first launch's overrides), or from an epoch-end checkpoint"
            )

    def __len__(self) -> int:
        return _num_batches(self.num_samples, self.batch_size, self.world_size)

    def remaining_batches(self, device: torch.device | None = None) -> tuple[Tensor, ...]:
        """This process's index batches of the epoch, after those trained on before a resume;
        on `device` if given (one copy of the epoch's order, of which the batches are views).

        Starts the epoch's bookkeeping: whoever hands the batches out counts them in
        `batches_done`, as `__iter__` does.
        """
        if self.shuffle:
            order = torch.randperm(self.num_samples, generator=epoch_generator(self.seed, self.epoch))
        else:
            order = torch.arange(self.num_samples)
        if device is not None:
            order = order.to(device)
        chunks = torch.tensor_split(order, len(self) * self.world_size)[self.rank :: self.world_size]
        return chunks[self.start_epoch() :]

    def start_epoch(self) -> int:
        """Starts the epoch's bookkeeping; returns how many of its batches a resumed run skips."""
        resume, self._resume = self._resume, None
        self.batches_done = 0
        if resume is not None and resume["epoch"] == self.epoch and resume["batches_done"] > 0:
            if _finished_epoch(resume):
                self.batches_done = len(self)  # saved after the epoch's last batch: nothing is left
            else:
                self._check_layout(resume)
                self.batches_done = resume["batches_done"]
        return self.batches_done

    def __iter__(self) -> Iterator[Tensor]:
        for chunk in self.remaining_batches():
            self.batches_done += 1
            yield chunk


def _num_batches(num_samples: int, batch_size: int, world_size: int) -> int:
    """Batches each process gets in an epoch."""
    return math.ceil(num_samples / (batch_size * world_size))


def _finished_epoch(state: dict[str, int]) -> bool:
    """Whether a sampler state was saved after the last batch of its epoch (older states: unknown)."""
    if not {"num_samples", "batch_size", "world_size"} <= state.keys():
        return False
    return state["batches_done"] >= _num_batches(
        state["num_samples"], state["batch_size"], state["world_size"]
    )


def _as_is(batch: Any) -> Any:
    return batch


def sequential_loader(dataset: BatchDataset, batch_size: int) -> DataLoader:
    """An unshuffled, unsharded loader with a standard sampler, which Lightning may replace."""
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=_as_is)


class ShardedBatches:
    """This process's batches of a split, in the sampler's order: what the data modules hand
    to Lightning, which takes any sized iterable as a loader and calls `sampler.set_epoch`.

    Without workers, batches come straight from the in-memory tensors: what a DataLoader does,
    minus its per-batch bookkeeping (fetcher, collate, profiler records), which costs about as
    much as gathering a batch of rows itself. With `num_workers`, a DataLoader gathers them in
    worker processes. Either way this is no `DataLoader` to Lightning, so it never swaps in a
    `DistributedSampler`: the sampler shards exactly, without padding.

    `device`: the device the dataset's tensors are on, when not the CPU (see
    `TensorDataModule`'s `device_resident_max_gb`); each epoch's order goes there once, and
    every batch is gathered there, with no copy per batch.
    """

    batch_sampler = None  # read by Lightning's checks, as on a DataLoader that has a sampler

    def __init__(
        self,
        dataset: BatchDataset,
        sampler: ShardedBatchSampler,
        pin_memory: bool,
        num_workers: int = 0,
        device: torch.device | None = None,
    ) -> None:
        if device is not None and (num_workers > 0 or pin_memory):
            raise ValueError("batches gathered on a device need neither workers nor pinned memory")
        self.dataset = dataset
        self.sampler = sampler
        self.pin_memory = pin_memory
        self.device = device
        self.workers: DataLoader | None = None
        if num_workers > 0:
            self.workers = DataLoader(
                dataset,
                sampler=sampler,
                batch_size=None,  # the sampler yields whole batches; the dataset indexes them at once
                collate_fn=_as_is,
                num_workers=num_workers,
                pin_memory=pin_memory,
                persistent_workers=True,
            )

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        if self.workers is not None:
            yield from self.workers
            return
        # One loop, no nested generators: at ~15 µs a batch, every Python call shows.
        sampler, dataset = self.sampler, self.dataset
        for index in sampler.remaining_batches(self.device):
            batch = dataset[index]
            sampler.batches_done += 1
            yield tuple([t.pin_memory() for t in batch]) if self.pin_memory else batch


# What the data modules hand to Lightning: any sized iterable of batches will do.
Batches = ShardedBatches | DataLoader


def batch_loader(
    dataset: BatchDataset,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    pin_memory: bool = False,
    device: torch.device | None = None,
) -> ShardedBatches:
    """This process's share of whole batches: in this process, or from `num_workers` workers;
    gathered on `device` where the dataset's tensors are (see `ShardedBatches`)."""
    sampler = ShardedBatchSampler(len(dataset), batch_size, shuffle, seed, rank, world_size)
    return ShardedBatches(dataset, sampler, pin_memory, num_workers, device)


class EpochPosition:
    """How far the current training epoch has got: a data module's `state_dict`, saved in every
    checkpoint and restored before training resumes, so a mid-epoch checkpoint continues the
    same epoch with the next batch. `track` is given each new training loader's sampler."""

    def __init__(self) -> None:
        self.sampler: ShardedBatchSampler | None = None
        self.pending: dict[str, int] | None = None  # restored before the loader existed

    def track(self, loader: object) -> None:
        sampler = getattr(loader, "sampler", None)
        # Overfitting mode uses a plain sequential loader, which has no resume bookkeeping.
        self.sampler = sampler if isinstance(sampler, ShardedBatchSampler) else None
        if self.sampler is not None and self.pending is not None:
            self.sampler.load_state_dict(self.pending)
            self.pending = None

    def state_dict(self) -> dict[str, dict[str, int]]:
        return {"train_sampler": self.sampler.state_dict()} if self.sampler else {}

    def load_state_dict(self, state: dict[str, dict[str, int]], num_workers: int = 0) -> None:
        if "train_sampler" not in state:
            return
        if state["train_sampler"]["batches_done"] and num_workers:
            log.warning(
                "resuming mid-epoch with data.num_workers > 0: the checkpoint counted batches the "
                "workers had fetched ahead, so up to that many untrained batches are skipped"
            )
        if self.sampler is not None:
            self.sampler.load_state_dict(state["train_sampler"])
        else:
            self.pending = state["train_sampler"]
