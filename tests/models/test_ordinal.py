"""The ordinal loss (CORN) against its formula, written out threshold by threshold."""

import math

import pytest
import torch

from multiout.errors import InputError
from multiout.metrics.per_channel import predicted_classes
from multiout.models.ordinal import corn_log_probs
from tests.helpers import multi_output_cross_entropy, small_classifier

B, K, C, IGNORE = 12, 4, 3, -100


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def corn_cell_loss(f: list[float], label: int) -> float:
    """CORN's binary tasks for one cell: task k sees the cell if label > k-1, and its target is
    label > k; the cell's loss is the sum of their binary cross entropies."""
    total = 0.0
    for k, logit in enumerate(f):
        if label > k - 1:
            p = sigmoid(logit)
            total -= math.log(p) if label > k else math.log(1 - p)
    return total


def corn_probabilities(f: list[float]) -> list[float]:
    """P(y = j) = prod_{k<j} sigmoid(f_k) * (1 - sigmoid(f_j)); the last class has no (1 - ...)."""
    probs, reach = [], 1.0
    for logit in f:
        probs.append(reach * (1 - sigmoid(logit)))
        reach *= sigmoid(logit)
    return [*probs, reach]


def thresholds_and_labels(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(B, K - 1, C, generator=g, dtype=torch.float64) * 2
    target = torch.randint(0, K, (B, C), generator=g)
    target[torch.rand(B, C, generator=g) < 0.2] = IGNORE
    return f, target


def test_loss_is_the_mean_of_corn_binary_tasks_over_labelled_cells():
    f, target = thresholds_and_labels(0)
    cells = [
        corn_cell_loss(f[b, :, c].tolist(), int(target[b, c]))
        for b in range(B)
        for c in range(C)
        if target[b, c] != IGNORE
    ]
    loss = multi_output_cross_entropy(corn_log_probs(f), target, IGNORE)
    assert loss.item() == pytest.approx(sum(cells) / len(cells), rel=1e-9)


def test_probabilities_follow_the_chain_rule_and_sum_to_one():
    f, _ = thresholds_and_labels(1)
    probs = corn_log_probs(f).softmax(dim=1)
    for b in range(B):
        for c in range(C):
            assert probs[b, :, c].tolist() == pytest.approx(corn_probabilities(f[b, :, c].tolist()), rel=1e-9)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(B, C, dtype=torch.float64))
    # Rank consistency: P(y > k) never rises with k.
    above = 1 - probs.cumsum(dim=1)[:, :-1]
    assert (above[:, 1:] <= above[:, :-1] + 1e-12).all()


def test_ordinal_model_predicts_the_most_probable_class_of_its_thresholds():
    model = small_classifier(num_features=5, num_channels=C, num_classes=K, loss="ordinal").eval()
    assert model.head.out_features == (K - 1) * C
    x = torch.randn(B, 5)
    with torch.no_grad():
        thresholds = model.head(model.trunk(x)).view(B, K - 1, C).double()
        logits = model(x)
        probs = model.predict_step((x,), 0)
    assert logits.shape == (B, K, C)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(B, C))
    for b in range(B):
        for c in range(C):
            expected = corn_probabilities(thresholds[b, :, c].tolist())
            assert probs[b, :, c].tolist() == pytest.approx(expected, abs=1e-6)
            assert predicted_classes(logits)[b, c] == max(range(K), key=expected.__getitem__)


def test_ordinal_model_loss_matches_the_formula_with_class_weights():
    model = small_classifier(
        num_features=5, num_channels=C, num_classes=K, loss="ordinal", class_weights="balanced"
    )
    model.class_weight.copy_(torch.rand(C, K) + 0.5)
    x, (_, target) = torch.randn(B, 5), thresholds_and_labels(2)
    with torch.no_grad():
        thresholds = model.head(model.trunk(x)).view(B, K - 1, C)
        loss, weight = model.loss(model(x), target)
    numerator = denominator = 0.0
    for b in range(B):
        for c in range(C):
            if target[b, c] != IGNORE:
                w = model.class_weight[c, target[b, c]].item()
                numerator += w * corn_cell_loss(thresholds[b, :, c].tolist(), int(target[b, c]))
                denominator += w
    assert loss.item() == pytest.approx(numerator / denominator, rel=1e-5)
    assert weight.item() == pytest.approx(denominator, rel=1e-6)


def test_unknown_loss_is_an_input_error():
    with pytest.raises(InputError, match=r"model\.loss must be one of"):
        small_classifier(loss="ordnial")
