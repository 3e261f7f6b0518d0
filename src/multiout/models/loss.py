"""The loss: cross entropy in its K-dimensional form, one term per (sample, channel)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def cross_entropy_terms(
    logits: Tensor,
    target: Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    class_weight: Tensor | None = None,
    class_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """The sum of the per-cell losses and the sum of their weights: their ratio is the loss, and
    the weight lets a mean over batches (and processes) be exact however the batches are cut.

    `logits` are `[B, K, C]` (class dimension second, as `cross_entropy` expects for extra
    dimensions) and `target` is `[B, C]` class ids; cells equal to `ignore_index` weigh 0. Other
    cells weigh 1, or with `class_weight` `[C, K]`, `class_weight[c, target[b, c]]`: for one
    channel and without label smoothing, what `cross_entropy(weight=...)` computes (torch smooths
    with every class's weight, this with the target's).

    `class_mask` `[K, C]` marks the classes each channel has (None: all K): label smoothing then
    spreads its share over the channel's own classes only.
    """
    if class_mask is not None and label_smoothing:
        per_cell = smoothed_terms(logits, target, ignore_index, label_smoothing, class_mask)
        weight = (target != ignore_index).to(per_cell.dtype)
        if class_weight is not None:
            weight = cell_weights(target, class_weight, ignore_index)
        return (per_cell * weight).sum(), weight.sum()
    if class_weight is None:
        total = F.cross_entropy(
            logits, target, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction="sum"
        )
        return total, (target != ignore_index).sum()
    per_cell = F.cross_entropy(
        logits, target, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction="none"
    )
    weight = cell_weights(target, class_weight, ignore_index)
    return (per_cell * weight).sum(), weight.sum()


def smoothed_terms(
    logits: Tensor, target: Tensor, ignore_index: int, label_smoothing: float, class_mask: Tensor
) -> Tensor:
    """Per-cell cross entropy with label smoothing over each channel's own classes:
    `(1 - eps) * -log p(target) + eps * mean over the channel's classes of -log p(k)`."""
    log_probs = logits.float().log_softmax(dim=1)
    mask = class_mask if logits.dim() == 3 else class_mask.unsqueeze(-1)  # ensemble members last
    labelled = target != ignore_index
    nll = -log_probs.gather(1, target.where(labelled, 0).unsqueeze(1)).squeeze(1)
    uniform = -(log_probs * mask).sum(dim=1) / mask.sum(dim=0)
    return ((1 - label_smoothing) * nll + label_smoothing * uniform) * labelled


def mean_loss(total: Tensor, weight: Tensor) -> Tensor:
    """`total / weight`, and 0 where the weight is 0 (a batch without labels)."""
    return total / weight.to(total.dtype).clamp(min=torch.finfo(total.dtype).tiny)


def cell_weights(target: Tensor, class_weight: Tensor, ignore_index: int = -100) -> Tensor:
    """`[B, C]` weight of each cell: its class's weight in its channel, 0 for a missing label
    (`[B, C, k]` for the targets of k ensemble members: channels stay the second dimension)."""
    labelled = target != ignore_index
    channel = torch.arange(target.shape[1], device=target.device).view(-1, *[1] * (target.dim() - 2))
    return class_weight[channel, target.where(labelled, 0)] * labelled


def balanced_class_weights(counts: Tensor) -> Tensor:
    """`[C, K]` weights `n_c / (K_c * count[c, k])` from training label counts `[C, K]`, where `n_c`
    counts the labelled cells of channel `c` and `K_c` the classes present in them: scikit-learn's
    `class_weight="balanced"`, per channel. Each channel's weights then sum to `n_c` over its
    training cells, so channels keep their unweighted share of the loss. A class absent from a
    channel's training labels gets weight 1 (it never occurs in that channel's training loss)."""
    counts = counts.double()
    present = (counts > 0).sum(dim=1, keepdim=True)
    weights = counts.sum(dim=1, keepdim=True) / (present * counts)
    return torch.where(counts > 0, weights, torch.ones_like(weights)).float()
