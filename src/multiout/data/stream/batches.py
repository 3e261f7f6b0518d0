"""This process's batches of a streamed split: the epoch's plan (which rows, in what order,
resumable mid-epoch) and the reading of its windows of rows, one ahead of training."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import Tensor

from multiout.data.batching import ShardedBatchSampler, derived_seed, epoch_generator
from multiout.data.stream.parquet_files import ParquetSplit
from multiout.data.stream.rows import GroupReader, RowSource, rank_batches


class StreamSampler(ShardedBatchSampler):
    """`ShardedBatchSampler`'s epoch, cut and resume state, over a split's row groups: it
    yields no indices itself; `StreamBatches` reads the rows its plan names."""

    def __init__(
        self, split: ParquetSplit, batch_size: int, shuffle: bool, seed: int, rank: int, world_size: int
    ) -> None:
        super().__init__(split.num_rows, batch_size, shuffle, seed, rank, world_size)
        self.num_row_groups = len(split.row_groups)

    def row_group_order(self) -> list[int]:
        """The epoch's order of the row groups: shuffled per epoch for training, else file order."""
        if not self.shuffle:
            return list(range(self.num_row_groups))
        return torch.randperm(self.num_row_groups, generator=epoch_generator(self.seed, self.epoch)).tolist()

    def window_order(self, first_row: int, num_rows: int) -> Tensor | None:
        """How the rows of the window starting at `first_row` are reordered (None: kept)."""
        if not self.shuffle:
            return None
        generator = torch.Generator().manual_seed(derived_seed(self.seed, self.epoch, first_row))
        return torch.randperm(num_rows, generator=generator)

    def remaining_batches(self, device: torch.device | None = None) -> tuple[Tensor, ...]:
        raise TypeError("a StreamSampler plans rows, not indices; iterate over its StreamBatches")


class StreamBatches:
    """This process's batches of a split for one epoch, read a window of batches at a time."""

    batch_sampler = None  # read by Lightning's checks, as on a DataLoader that has a sampler

    def __init__(
        self,
        split: ParquetSplit,
        reader: GroupReader,
        sampler: StreamSampler,
        window_rows: int,
        pin_memory: bool,
    ) -> None:
        self.split = split
        self.reader = reader
        self.sampler = sampler
        self.batches_per_window = max(1, window_rows // sampler.batch_size)
        self.pin_memory = pin_memory
        self.reported = False

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[tuple]:
        sampler = self.sampler
        skip = sampler.start_epoch()
        first_row, sizes = rank_batches(
            sampler.num_samples, sampler.batch_size, sampler.world_size, sampler.rank
        )
        self.reader.start_counting_unseen()
        source = RowSource(self.split.row_groups, sampler.row_group_order(), self.reader)
        starts = list(itertools.accumulate(sizes, initial=first_row))  # each batch's first row

        def window(first: int) -> list[tuple]:
            last = min(first + self.batches_per_window, len(sizes))
            rows = source.read(starts[first], starts[last])
            return rows.batches(sizes[first:last], sampler.window_order(starts[first], len(rows)))

        # The next window is read in a thread while this one trains (Arrow and NumPy release the
        # GIL): one window at a time, in order, so what is read does not depend on timing.
        firsts = range(skip - skip % self.batches_per_window, len(sizes), self.batches_per_window)
        with ThreadPoolExecutor(max_workers=1) as reader:
            ahead = reader.submit(window, firsts[0]) if firsts else None
            for i, first in enumerate(firsts):
                batches = ahead.result()  # type: ignore[union-attr]
                ahead = reader.submit(window, firsts[i + 1]) if i + 1 < len(firsts) else None
                for batch in batches[max(0, skip - first) :]:
                    sampler.batches_done += 1
                    if self.pin_memory:  # pinned host memory lets the copy to the GPU overlap compute
                        batch = tuple(t.pin_memory() if isinstance(t, Tensor) else t for t in batch)
                    yield batch
        if skip == 0 and not self.reported:  # the first whole epoch: one line of unseen categories
            self.reported = True
            self.reader.log_unseen(self.split.key)
