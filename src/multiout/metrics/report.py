"""Per-channel report rows from a confusion matrix: what `per_channel.csv` holds."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from torch import Tensor

from multiout.metrics.per_channel import per_channel_accuracy, per_channel_macro_f1, support


@dataclass(frozen=True)
class ChannelRow:
    """One channel's test results; NaN where the channel has no labels."""

    channel: str
    accuracy: float
    majority_acc: float
    macro_f1: float
    support: int


def majority_accuracy(confmat: Tensor) -> Tensor:
    """Per channel `[C]`: accuracy of always predicting the class most frequent among these
    labels, the best any constant prediction can do on them (NaN without labels)."""
    class_counts = confmat.sum(dim=2)
    return class_counts.max(dim=1).values.double() / support(confmat).double()


def channel_rows(confmat: Tensor, channel_names: list[str]) -> list[ChannelRow]:
    acc, majority = per_channel_accuracy(confmat), majority_accuracy(confmat)
    f1, counts = per_channel_macro_f1(confmat), support(confmat)
    return [
        ChannelRow(name, acc[c].item(), majority[c].item(), f1[c].item(), int(counts[c]))
        for c, name in enumerate(channel_names)
    ]


def write_rows_csv(path: str | os.PathLike, rows: list[ChannelRow]) -> Path:
    """`per_channel.csv`; a channel without labels has empty metric cells, not 0 or 1."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([field.name for field in fields(ChannelRow)])
        for row in rows:
            writer.writerow(["" if isinstance(v, float) and math.isnan(v) else v for v in astuple(row)])
    return path
