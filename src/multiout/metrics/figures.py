"""Figures of the per-channel report (matplotlib, no display needed)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from torch import Tensor


def accuracy_figure(rows: list[dict[str, Any]]) -> Figure:
    """Per-channel accuracy as bars, the majority-class baseline as a tick on each bar."""
    names = [row["channel"] for row in rows]
    y = np.arange(len(rows))
    fig = Figure(figsize=(7, 1.5 + 0.22 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(y, [row["acc"] for row in rows], color="tab:blue", label="model")
    ax.scatter(
        [row["majority_acc"] for row in rows], y, marker="|", s=120, color="black", label="majority class"
    )
    ax.set_yticks(y, names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("test accuracy")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def confusion_grid_figure(confmat: Tensor, channel_names: list[str], label_values: list[list]) -> Figure:
    """One small row-normalized confusion matrix per channel (rows: true, columns: predicted),
    over the channel's own labels."""
    num_channels = confmat.shape[0]
    cols = math.ceil(math.sqrt(num_channels))
    rows = math.ceil(num_channels / cols)
    # Fixed spacing: a constrained layout of ~50 small axes costs seconds at every test end.
    fig = Figure(figsize=(1.6 * cols, 1.7 * rows))
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.03, top=1 - 0.35 / rows, wspace=0.5, hspace=0.6)
    counts = confmat.double()
    normalized = (counts / counts.sum(dim=2, keepdim=True).clamp(min=1)).numpy()
    for c in range(rows * cols):
        ax = fig.add_subplot(rows, cols, c + 1)
        if c >= num_channels:
            ax.axis("off")
            continue
        k, ticks = len(label_values[c]), [str(label) for label in label_values[c]]
        ax.imshow(normalized[c, :k, :k], vmin=0, vmax=1, cmap="Blues")
        ax.set_title(channel_names[c], fontsize=7)
        ax.set_xticks(range(k), ticks, fontsize=6)
        ax.set_yticks(range(k), ticks, fontsize=6)
    fig.suptitle("rows: true, columns: predicted", fontsize=8)
    return fig
