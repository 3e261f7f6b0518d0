"""Per-channel confusion matrices as one torchmetrics state, and what follows from them.

One count state holds everything: the `[C, K, K]` confusion counts of all channels, kept
flat with one extra bin for ignored cells. Its `sum` reduction makes multi-process results
exact (counts add up), one `scatter_add_` per batch updates all channels at once, and
accuracy, recall and F1 per channel are cheap functions of the `[C, K, K]` view that
`compute` returns.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric


def default_channel_names(num_channels: int) -> list[str]:
    """`ch00`, `ch01`, ...: zero-padded so that names sort in channel order."""
    width = max(2, len(str(num_channels - 1)))
    return [f"ch{c:0{width}d}" for c in range(num_channels)]


# Up to this many classes, comparing class columns beats a reduction over the class dimension.
_COMPARE_UP_TO = 4


def predicted_classes(logits: Tensor) -> Tensor:
    """The class id of the largest logit `[B, C]` for logits `[B, K, C]` (first one on ties).

    On a CPU, `max(dim=1)` over a class dimension of 3 between batch and channels runs a slow
    strided reduction: for a few classes, a running comparison of the class columns (each a
    contiguous-rowed `[B, C]` slice) gives the same ids in about half the time.
    """
    num_classes = logits.shape[1]
    if logits.device.type != "cpu" or num_classes > _COMPARE_UP_TO or num_classes < 2:
        return logits.max(dim=1).indices
    columns = logits.unbind(1)
    predicted = (columns[1] > columns[0]).to(torch.long)
    best = torch.maximum(columns[0], columns[1])
    for k in range(2, num_classes):
        predicted = torch.where(columns[k] > best, k, predicted)
        if k < num_classes - 1:
            best = torch.maximum(best, columns[k])
    return predicted


class PerChannelConfusionMatrix(Metric):
    """Confusion counts `[C, K, K]` (rows: true class, columns: predicted class) per channel.

    `update` takes logits `[B, K, C]` (or predicted class ids `[B, C]`) and targets `[B, C]`;
    targets equal to `ignore_index` are skipped, channel by channel.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    counts: Tensor
    _channel_offset: Tensor

    def __init__(self, num_channels: int, num_classes: int, ignore_index: int = -100) -> None:
        super().__init__()
        self.num_channels = num_channels
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self._cells = num_channels * num_classes * num_classes
        # The C x K x K counts, flat, plus one last bin that collects the ignored cells: one
        # `scatter_add_` per batch counts every cell without a boolean gather.
        self.add_state("counts", default=torch.zeros(self._cells + 1, dtype=torch.long), dist_reduce_fx="sum")
        # Flat offset of each channel's K x K block, built once rather than every batch.
        self.register_buffer(
            "_channel_offset",
            torch.arange(num_channels) * num_classes * num_classes,
            persistent=False,
        )

    def update(self, preds: Tensor, target: Tensor) -> None:
        # Class ids: a copy, since the flat index below is built on it in place.
        preds = predicted_classes(preds) if preds.is_floating_point() else preds.to(torch.long, copy=True)
        if preds.shape != target.shape or target.ndim != 2 or target.shape[1] != self.num_channels:
            raise ValueError(
                f"expected preds and target of shape [B, {self.num_channels}], "
                f"got {tuple(preds.shape)} and {tuple(target.shape)}"
            )
        # Flat cell index channel * K * K + true * K + predicted, built in place.
        flat = preds.add_(target, alpha=self.num_classes).add_(self._channel_offset)
        flat.masked_fill_(target == self.ignore_index, self._cells)
        flat = flat.reshape(-1)
        self.counts.scatter_add_(0, flat, torch.ones_like(flat))

    def compute(self) -> Tensor:
        return self.counts[: self._cells].view(self.num_channels, self.num_classes, self.num_classes)


def per_channel_accuracy(confmat: Tensor) -> Tensor:
    """Accuracy per channel `[C]`; NaN for a channel without any labelled sample."""
    correct = confmat.diagonal(dim1=1, dim2=2).sum(dim=1)
    return correct.double() / support(confmat).double()


def support(confmat: Tensor) -> Tensor:
    """Labelled samples per channel `[C]`."""
    return confmat.sum(dim=(1, 2))


def per_channel_macro_f1(confmat: Tensor) -> Tensor:
    """Mean over classes of F1 per channel `[C]`; a class never seen nor predicted is left out."""
    tp = confmat.diagonal(dim1=1, dim2=2).double()
    denom = confmat.sum(dim=2).double() + confmat.sum(dim=1).double()  # 2TP + FP + FN
    f1 = torch.where(denom > 0, 2 * tp / denom, torch.nan)
    return f1.nanmean(dim=1)


def label_counts(target: Tensor, num_classes: int, ignore_index: int = -100) -> Tensor:
    """`[C, K]` count of each class id per channel in labels `[N, C]`, missing labels left out."""
    num_channels = target.shape[1]
    labelled = target != ignore_index
    flat = torch.arange(num_channels) * num_classes + target.where(labelled, 0)
    counts = torch.bincount(flat[labelled], minlength=num_channels * num_classes)
    return counts.view(num_channels, num_classes)
