"""Per-channel accuracy update: this template's metric against torchmetrics' MultioutputWrapper.

    python scripts/benchmark_metric.py [--batch 256 --channels 47 --classes 3 --repeats 7]

Both metrics are timed in the same process, interleaved, on the same batches; the ratio of
medians is what to read (absolute times depend on the machine and its load).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torchmetrics.classification import MulticlassAccuracy
from torchmetrics.wrappers import MultioutputWrapper

from multiout.metrics.per_channel import PerChannelConfusionMatrix, per_channel_accuracy


def time_updates(metric, batches) -> float:
    metric.reset()
    start = time.perf_counter()
    for logits, target in batches:
        metric.update(logits, target)
    return (time.perf_counter() - start) / len(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--channels", type=int, default=47)
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    b, c, k = args.batch, args.channels, args.classes

    g = torch.Generator().manual_seed(0)
    batches = [
        (torch.randn(b, k, c, generator=g), torch.randint(0, k, (b, c), generator=g))
        for _ in range(args.batches)
    ]
    ours = PerChannelConfusionMatrix(c, k)
    wrapper = MultioutputWrapper(
        MulticlassAccuracy(num_classes=k, average="micro"), num_outputs=c, output_dim=-1
    )

    # Same answer first: a fast wrong metric is no use.
    time_updates(ours, batches)
    time_updates(wrapper, batches)
    assert torch.allclose(per_channel_accuracy(ours.compute()).float(), wrapper.compute().float())

    ours_s, wrapper_s = [], []
    for _ in range(args.repeats):
        ours_s.append(time_updates(ours, batches))
        wrapper_s.append(time_updates(wrapper, batches))
    ours_med, wrapper_med = statistics.median(ours_s), statistics.median(wrapper_s)
    print(f"update of one [{b}, {k}, {c}] batch, median of {args.repeats} x {args.batches} updates:")
    print(f"  PerChannelConfusionMatrix      {ours_med * 1e6:10.1f} us")
    print(f"  MultioutputWrapper(Accuracy)   {wrapper_med * 1e6:10.1f} us")
    print(f"  speed-up                       {wrapper_med / ours_med:10.1f} x")


if __name__ == "__main__":
    main()
