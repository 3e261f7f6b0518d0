"""The loss: cross entropy in its K-dimensional form, one term per (sample, channel)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def multi_output_cross_entropy(
    logits: Tensor,
    target: Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> Tensor:
    """Mean cross entropy over every labelled (sample, channel) cell.

    `logits` are `[B, K, C]` (class dimension second, as `cross_entropy` expects for extra
    dimensions) and `target` is `[B, C]` class ids; cells equal to `ignore_index` are skipped.
    """
    return F.cross_entropy(logits, target, ignore_index=ignore_index, label_smoothing=label_smoothing)
