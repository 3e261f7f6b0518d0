"""Ordinal labels (`model.loss=ordinal`): CORN, K-1 conditional binary tasks per channel.

CORN (Shi, Cao and Raschka 2021, "Deep Neural Networks for Rank-Consistent Ordinal Regression
Based On Conditional Probabilities") learns, for each threshold k, the logit of
P(y > k | y > k-1). The chain rule turns those into class probabilities:
P(y = j) = prod_{k<j} sigmoid(f_k) * (1 - sigmoid(f_j)), and P(y = K-1) = prod_k sigmoid(f_k).
Class order is the order of the data's `label_values` (class ids 0..K-1).

`corn_log_probs` returns their logs, `[B, K, C]`: valid logits for everything downstream
(softmax gives the probabilities back, argmax the most probable class), and cross entropy on
them is the sum of the CORN binary cross entropies of a cell: `-log P(y)`. CORN's paper divides
that sum by the number of binary tasks in the batch; here it is divided by the number of
labelled cells, like the cross-entropy loss, so that the two read on one scale. The paper
predicts the median class (the count of P(y > k) above 1/2); the metrics here take the most
probable class, the one that maximizes the expected accuracy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from multiout.errors import InputError

# P(y > k | y > k-1) = sigmoid(-1e4): 0 in float32, for the thresholds of classes a channel lacks.
MASKED_THRESHOLD = -1e4


def check_ordinal(loss: str, num_classes: int) -> None:
    """An ordinal loss has at least two classes to order."""
    if loss == "ordinal" and num_classes < 2:
        raise InputError(f"model.loss=ordinal needs at least 2 classes, the data has {num_classes}")


def outputs_per_channel(loss: str, num_classes: int) -> int:
    """How many head outputs each channel needs: K logits, or K-1 for the ordinal thresholds."""
    return num_classes - 1 if loss == "ordinal" else num_classes


def corn_log_probs(threshold_logits: Tensor, dim: int = 1, mask: Tensor | None = None) -> Tensor:
    """Class log-probabilities (K along `dim`) of conditional threshold logits (K-1 along `dim`).

    `mask` `[K, C]` (the last two dimensions of the logits) marks each channel's classes: a
    channel with K_c < K classes uses its first K_c - 1 thresholds; P(y > k) is 0 beyond them."""
    if mask is not None:
        threshold_logits = threshold_logits.masked_fill(~mask[1:], MASKED_THRESHOLD)
    above = F.logsigmoid(threshold_logits).cumsum(dim)  # log P(y > k), k = 0..K-2
    zero = torch.zeros_like(threshold_logits.narrow(dim, 0, 1))
    # log P(y = j) = log P(y > j-1) + log P(y <= j | y > j-1); the last class has no threshold above.
    reached = torch.cat([zero, above], dim)
    stops = torch.cat([F.logsigmoid(-threshold_logits), zero], dim)
    return reached + stops
