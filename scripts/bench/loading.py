"""Data loading: the template's loader against slicing a shuffled in-memory tensor."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import torch
from bench.timing import interleaved, median, median_ratio
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from multiout.data.batching import IndexedTensors, batch_loader


def _epoch_rate(
    make_batches: Callable[[int], Iterable], num_samples: int, epochs: int
) -> Callable[[], float]:
    """Samples per second over `epochs` passes over all batches, each a new epoch.

    Several epochs a call: one epoch takes a few milliseconds, and the first after another
    candidate's run starts with cold caches.
    """
    epoch = 0

    def measure() -> float:
        nonlocal epoch
        start = time.process_time()
        for _ in range(epochs):
            epoch += 1
            for _batch in make_batches(epoch):
                pass
        return epochs * num_samples / (time.process_time() - start)

    return measure


def _shuffled(num_samples: int, epoch: int) -> Tensor:
    return torch.randperm(num_samples, generator=torch.Generator().manual_seed(epoch))


def data_loading(
    num_samples: int = 32_000,
    num_features: int = 32,
    num_channels: int = 47,
    batch_size: int = 256,
    rounds: int = 7,
    epochs: int = 10,
) -> dict[str, float]:
    """Samples per second: template loader, slicing shuffled tensors, gathering each batch's
    rows, and TensorDataset + DataLoader."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(num_samples, num_features, generator=g)
    y = torch.randint(0, 3, (num_samples, num_channels), generator=g)

    loader = batch_loader(IndexedTensors(x, y), batch_size, shuffle=True, seed=0)

    def template(epoch: int) -> Iterable:
        loader.sampler.set_epoch(epoch)  # as Lightning does at each epoch's start
        return loader

    x_shuffled, y_shuffled = torch.empty_like(x), torch.empty_like(y)

    def slicing(epoch: int) -> Iterable:
        # The baseline named as the upper bound: shuffle the whole tensors once per epoch,
        # into buffers allocated once (fresh ones would cost page faults), then every batch is
        # a slice, a view. On some CPUs `gathering` below is faster still; both are reported.
        order = _shuffled(num_samples, epoch)
        torch.index_select(x, 0, order, out=x_shuffled)
        torch.index_select(y, 0, order, out=y_shuffled)
        return zip(x_shuffled.split(batch_size), y_shuffled.split(batch_size), strict=True)

    def gathering(epoch: int) -> Iterable:
        # Each batch's rows gathered on their own: one index_select per batch and tensor.
        order = _shuffled(num_samples, epoch)
        return ((x.index_select(0, idx), y.index_select(0, idx)) for idx in order.split(batch_size))

    plain = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    results = interleaved(
        {
            "template": _epoch_rate(template, num_samples, epochs),
            "slicing": _epoch_rate(slicing, num_samples, epochs),
            "gathering": _epoch_rate(gathering, num_samples, epochs),
            # Row by row: it gets one epoch per call, or it would take most of the benchmark.
            "tensordataset": _epoch_rate(lambda epoch: plain, num_samples, 1),
        },
        rounds,
    )
    rates = {f"{name}_samples_per_s": median(values) for name, values in results.items()}
    ratios = {
        f"{name}_vs_slicing": median_ratio(results[name], results["slicing"])
        for name in ("template", "gathering", "tensordataset")
    }
    return {**rates, **ratios}
