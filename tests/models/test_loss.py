import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight

from multiout.metrics.per_channel import label_counts
from multiout.models.loss import balanced_class_weights
from tests.helpers import multi_output_cross_entropy

B, K, C, IGNORE = 50, 3, 4, -100


def labels_with_missing(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # Imbalanced: class 2 is rare, and channel 3 never sees class 0.
    target = torch.multinomial(torch.tensor([0.5, 0.4, 0.1]), B * C, replacement=True, generator=g).view(B, C)
    target[:, 3] = target[:, 3].clamp(min=1)
    target[torch.rand(B, C, generator=g) < 0.2] = IGNORE
    return target


def test_balanced_weights_equal_sklearn_per_channel():
    target = labels_with_missing()
    weights = balanced_class_weights(label_counts(target, K, IGNORE))
    for c in range(C):
        labels = target[:, c][target[:, c] != IGNORE].numpy()
        present = np.unique(labels)
        expected = compute_class_weight("balanced", classes=present, y=labels)
        np.testing.assert_allclose(weights[c, present].numpy(), expected, rtol=1e-6)
    assert weights[3, 0] == 1.0  # absent from training: neutral


def test_weighted_loss_equals_hand_written_weighted_mean():
    target = labels_with_missing(1)
    logits = torch.randn(B, K, C, generator=torch.Generator().manual_seed(2))
    weights = balanced_class_weights(label_counts(target, K, IGNORE))
    # Per channel, cross_entropy's own `weight` (a [K] vector): sum of weighted terms and of
    # weights; the multi-output loss is the weighted mean over all channels' cells.
    numerator = denominator = 0.0
    for c in range(C):
        labelled = target[:, c] != IGNORE
        numerator += F.cross_entropy(logits[:, :, c], target[:, c], weight=weights[c], reduction="sum")
        denominator += weights[c][target[labelled, c]].sum()
    loss = multi_output_cross_entropy(logits, target, IGNORE, class_weight=weights)
    torch.testing.assert_close(loss, numerator / denominator)


def test_unit_weights_give_the_unweighted_loss():
    target = labels_with_missing(3)
    logits = torch.randn(B, K, C, generator=torch.Generator().manual_seed(4))
    weighted = multi_output_cross_entropy(logits, target, IGNORE, 0.1, class_weight=torch.ones(C, K))
    torch.testing.assert_close(weighted, multi_output_cross_entropy(logits, target, IGNORE, 0.1))


@pytest.mark.parametrize("weighted", [False, True])
def test_a_batch_without_labels_has_zero_loss_and_finite_gradients(weighted):
    logits = torch.randn(4, 3, 5, requires_grad=True)
    target = torch.full((4, 5), -100)
    class_weight = torch.rand(5, 3) + 0.5 if weighted else None
    loss = multi_output_cross_entropy(logits, target, class_weight=class_weight)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_the_unweighted_loss_is_torchs_mean_reduction():
    logits = torch.randn(B, K, C, generator=torch.Generator().manual_seed(5))
    target = labels_with_missing(6)
    torch.testing.assert_close(
        multi_output_cross_entropy(logits, target, IGNORE, 0.1),
        F.cross_entropy(logits, target, ignore_index=IGNORE, label_smoothing=0.1),
    )


def test_label_counts_equal_a_hand_count():
    target = labels_with_missing(7)
    counts = label_counts(target, K, IGNORE)
    for c in range(C):
        for k in range(K):
            assert counts[c, k] == sum(int(target[b, c]) == k for b in range(B))
