"""What the classifier derives from its options and the data spec's outputs, checked at build time."""

from __future__ import annotations

import torch
from torch import Tensor

from multiout.data.spec import OutputSpec
from multiout.errors import InputError
from multiout.models.loss import balanced_class_weights
from multiout.models.ordinal import check_ordinal  # part: ordinal
from multiout.models.schedules import scheduler_class
from multiout.models.targets import target_class

LOSSES = (
    "cross_entropy",
    "ordinal",  # part: ordinal
)


def check_options(
    optimizer: dict, scheduler: dict | None, class_weights: str | None, loss: str, out: OutputSpec
) -> None:
    """Config mistakes that would otherwise surface only once training is set up."""
    target_class(optimizer, "model.optimizer")
    if scheduler:
        scheduler_class(scheduler)
    if class_weights not in (None, "balanced"):
        raise InputError(f"model.class_weights must be one of [None, 'balanced'], got {class_weights!r}")
    if class_weights and out.label_counts is None:
        raise InputError(
            "model.class_weights=balanced needs the training split's label counts, which this data "
            "module's data spec does not give; set model.class_weights=null"
        )
    if loss not in LOSSES:
        raise InputError(f"model.loss must be one of {list(LOSSES)}, got {loss!r}")
    check_ordinal(loss, out.num_classes)  # part: ordinal


def label_counts(out: OutputSpec) -> Tensor:
    """`[C, K]` training counts; classes beyond a channel's own label set count 0."""
    counts = torch.zeros(out.num_channels, out.num_classes, dtype=torch.long)
    for c, channel in enumerate(out.label_counts or []):
        counts[c, : len(channel)] = torch.tensor(channel, dtype=torch.long)
    return counts


def class_weight(out: OutputSpec) -> Tensor:
    """`[C, K]` balanced class weights from the training split's label counts."""
    return balanced_class_weights(label_counts(out))


# The logit of a class a channel does not have: softmax gives it exactly 0 (the exponential
# underflows), and unlike -inf it leaves no inf - inf in an ensemble's mean or a threshold chain.
MASKED_LOGIT = -1e4


def label_mask(out: OutputSpec) -> Tensor | None:
    """`[K, C]`: which class ids each channel has (the logits' layout), or None when every
    channel has all K."""
    sizes = torch.tensor([len(values) for values in out.label_values])
    if bool((sizes == out.num_classes).all()):
        return None
    return torch.arange(out.num_classes).unsqueeze(1) < sizes
