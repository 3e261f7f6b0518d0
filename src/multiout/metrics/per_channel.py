"""Per-channel confusion matrices as one torchmetrics state, and what follows from them.

One `[C, K, K]` count tensor holds everything: its `sum` reduction makes multi-process
results exact (counts add up), one `bincount` per batch updates all channels at once, and
accuracy, recall and F1 per channel are cheap functions of it.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric


def default_channel_names(num_channels: int) -> list[str]:
    """`ch00`, `ch01`, ...: zero-padded so that names sort in channel order."""
    width = max(2, len(str(num_channels - 1)))
    return [f"ch{c:0{width}d}" for c in range(num_channels)]


class PerChannelConfusionMatrix(Metric):
    """Confusion counts `[C, K, K]` (rows: true class, columns: predicted class) per channel.

    `update` takes logits `[B, K, C]` (or predicted class ids `[B, C]`) and targets `[B, C]`;
    targets equal to `ignore_index` are skipped, channel by channel.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, num_channels: int, num_classes: int, ignore_index: int = -100) -> None:
        super().__init__()
        self.num_channels = num_channels
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.add_state(
            "confmat",
            default=torch.zeros(num_channels, num_classes, num_classes, dtype=torch.long),
            dist_reduce_fx="sum",
        )
        # Flat offset of each channel's K x K block, built once rather than every batch.
        self.register_buffer(
            "_channel_offset",
            torch.arange(num_channels) * num_classes * num_classes,
            persistent=False,
        )

    def update(self, preds: Tensor, target: Tensor) -> None:
        # Logits: max(dim=1).indices, not argmax(dim=1), same result and far faster on CPU for
        # [B, K, C]. Class ids: a copy, since the flat index below is built on it in place.
        preds = preds.max(dim=1).indices if preds.is_floating_point() else preds.to(torch.long, copy=True)
        if preds.shape != target.shape or target.ndim != 2 or target.shape[1] != self.num_channels:
            raise ValueError(
                f"expected preds and target of shape [B, {self.num_channels}], "
                f"got {tuple(preds.shape)} and {tuple(target.shape)}"
            )
        k = self.num_classes
        cells = self.num_channels * k * k
        # Flat cell index channel * K * K + true * K + predicted, built in place.
        flat = preds.add_(target, alpha=k).add_(self._channel_offset)
        # Ignored targets go to one extra bin that is dropped: cheaper than a boolean mask.
        flat.masked_fill_(target == self.ignore_index, cells)
        counts = torch.bincount(flat.reshape(-1), minlength=cells + 1)[:cells]
        self.confmat += counts.view(self.num_channels, k, k)

    def compute(self) -> Tensor:
        return self.confmat


def per_channel_accuracy(confmat: Tensor) -> Tensor:
    """Accuracy per channel `[C]`; NaN for a channel without any labelled sample."""
    correct = confmat.diagonal(dim1=1, dim2=2).sum(dim=1)
    return correct.double() / support(confmat).double()


def support(confmat: Tensor) -> Tensor:
    """Labelled samples per channel `[C]`."""
    return confmat.sum(dim=(1, 2))


def per_channel_macro_recall(confmat: Tensor) -> Tensor:
    """Mean over the classes present in each channel of their recall `[C]`."""
    true_counts = confmat.sum(dim=2).double()
    recall = confmat.diagonal(dim1=1, dim2=2).double() / true_counts
    return recall.nanmean(dim=1)


def per_channel_macro_f1(confmat: Tensor) -> Tensor:
    """Mean over classes of F1 per channel `[C]`; a class never seen nor predicted is left out."""
    tp = confmat.diagonal(dim1=1, dim2=2).double()
    denom = confmat.sum(dim=2).double() + confmat.sum(dim=1).double()  # 2TP + FP + FN
    f1 = torch.where(denom > 0, 2 * tp / denom, torch.nan)
    return f1.nanmean(dim=1)
