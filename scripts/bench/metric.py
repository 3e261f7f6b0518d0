"""Per-channel metric update: one confusion-count `scatter_add_` against 47 wrapped metrics."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from bench.timing import interleaved, median, median_ratio
from torchmetrics.classification import MulticlassAccuracy
from torchmetrics.wrappers import MultioutputWrapper

from multiout.metrics.per_channel import PerChannelConfusionMatrix, per_channel_accuracy


def _updates_per_s(update: Callable[[], None], calls: int) -> Callable[[], float]:
    def measure() -> float:
        start = time.process_time()
        for _ in range(calls):
            update()
        return calls / (time.process_time() - start)

    return measure


def metric_update(
    batch_size: int = 256, num_channels: int = 47, num_classes: int = 3, calls: int = 50, rounds: int = 7
) -> dict[str, float]:
    """Updates per second of the template's metric and of `MultioutputWrapper`, same batches."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(batch_size, num_classes, num_channels, generator=g)
    target = torch.randint(0, num_classes, (batch_size, num_channels), generator=g)
    ours = PerChannelConfusionMatrix(num_channels, num_classes)
    wrapped = MultioutputWrapper(
        MulticlassAccuracy(num_classes, average="micro"), num_outputs=num_channels, output_dim=-1
    )
    results = interleaved(
        {
            "template": _updates_per_s(lambda: ours.update(logits, target), calls),
            # The wrapper gets 1/10 of the calls: it is that much slower, and the rate is per call.
            "wrapper": _updates_per_s(lambda: wrapped.update(logits, target), max(1, calls // 10)),
        },
        rounds,
    )
    # Both saw the same batches: the per-channel accuracies agree.
    ours.reset(), wrapped.reset()
    ours.update(logits, target), wrapped.update(logits, target)
    agree = torch.allclose(per_channel_accuracy(ours.compute()).float(), torch.as_tensor(wrapped.compute()))
    return {
        "template_updates_per_s": median(results["template"]),
        "wrapper_updates_per_s": median(results["wrapper"]),
        "speedup": median_ratio(results["template"], results["wrapper"]),
        "same_accuracies": bool(agree),
    }
