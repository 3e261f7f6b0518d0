"""Per-channel report rows from a stage's result: what `per_channel.csv` holds."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

from torch import Tensor

from multiout.metrics.per_channel import support
from multiout.metrics.results import StageResult
from multiout.runtime import storage
from multiout.runtime.atomic import atomic_path


def majority_accuracy(confmat: Tensor) -> Tensor:
    """Per channel `[C]`: accuracy of always predicting the class most frequent among these
    labels, the best any constant prediction can do on them (NaN without labels)."""
    class_counts = confmat.sum(dim=2)
    return class_counts.max(dim=1).values.double() / support(confmat).double()


def channel_rows(result: StageResult, channel_names: list[str]) -> list[dict[str, Any]]:
    """One row per channel: its name, every metric of `PER_CHANNEL`, the majority-class
    baseline and the number of labels; NaN where a channel has no labels."""
    majority, counts = majority_accuracy(result.confmat).tolist(), support(result.confmat).tolist()
    rows = []
    for c, name in enumerate(channel_names):
        row: dict[str, Any] = {"channel": name}
        row.update({metric: values[c] for metric, values in result.per_channel.items()})
        row.update({"majority_acc": majority[c], "support": int(counts[c])})
        rows.append(row)
    return rows


def write_rows_csv(path: str | os.PathLike, rows: list[dict[str, Any]]) -> Path | str:
    """`per_channel.csv`; a channel without labels has empty metric cells, not 0 or 1."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()})
    return storage.location(path)
