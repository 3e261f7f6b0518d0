"""The loss, label counts and balanced class weights over random shapes and missing labels,
against torch's one-channel cross entropy, a hand count and scikit-learn."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.class_weight import compute_class_weight

from multiout.metrics.per_channel import label_counts
from multiout.models.loss import balanced_class_weights, cross_entropy_terms
from tests.helpers import multi_output_cross_entropy


@st.composite
def labels(draw) -> tuple[np.ndarray, int, int]:
    """Targets `[N, C]` over `K` classes with missing cells; few rows, so that classes seen
    once or never are common."""
    n, channels, classes = draw(st.integers(1, 30)), draw(st.integers(1, 4)), draw(st.integers(2, 5))
    ignore_index = draw(st.sampled_from([-100, -1]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    target = rng.integers(0, classes, (n, channels))
    target[rng.random((n, channels)) < draw(st.sampled_from([0.0, 0.3, 0.9]))] = ignore_index
    return target, classes, ignore_index


@settings(max_examples=80, deadline=None)
@given(case=labels())
def test_label_counts_and_balanced_weights_match_a_hand_count_and_sklearn(case):
    target, classes, ignore_index = case
    counts = label_counts(torch.from_numpy(target), classes, ignore_index)
    hand = [[int(np.sum(target[:, c] == k)) for k in range(classes)] for c in range(target.shape[1])]
    assert counts.tolist() == hand
    weights = balanced_class_weights(counts)
    for c in range(target.shape[1]):
        seen = target[:, c][target[:, c] != ignore_index]
        present = np.unique(seen)
        expected = np.ones(classes)  # a class absent from training: neutral
        if len(present):
            expected[present] = compute_class_weight("balanced", classes=present, y=seen)
        np.testing.assert_allclose(weights[c].numpy(), expected, rtol=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    case=labels(), weighted=st.booleans(), smoothing=st.sampled_from([0.0, 0.1, 0.3]), seed=st.integers(0, 99)
)
def test_the_loss_is_the_labelled_cells_mean_of_torchs_one_channel_cross_entropy(
    case, weighted, smoothing, seed
):
    target_np, classes, ignore_index = case
    target = torch.from_numpy(target_np)
    n, channels = target.shape
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, classes, channels, generator=g, dtype=torch.float64)
    class_weight = torch.rand(channels, classes, generator=g, dtype=torch.float64) + 0.1 if weighted else None
    if weighted:
        smoothing = 0.0  # torch smooths a weighted loss with every class's weight, not the target's
    total = weight = 0.0
    for c in range(channels):  # one channel at a time, as torch's own cross entropy sees it
        labelled = target[:, c] != ignore_index
        total += F.cross_entropy(
            logits[:, :, c],
            target[:, c],
            weight=None if class_weight is None else class_weight[c],
            ignore_index=ignore_index,
            label_smoothing=smoothing,
            reduction="sum",
        )
        weight += labelled.sum() if class_weight is None else class_weight[c][target[labelled, c]].sum()
    # Only what differs from the defaults is passed, so that the defaults are checked too.
    options: dict = {}
    if ignore_index != -100:
        options["ignore_index"] = ignore_index
    if smoothing:
        options["label_smoothing"] = smoothing
    if class_weight is not None:
        options["class_weight"] = class_weight
    got_total, got_weight = cross_entropy_terms(logits, target, **options)
    torch.testing.assert_close(got_total, torch.as_tensor(total, dtype=torch.float64))
    torch.testing.assert_close(got_weight.double(), torch.as_tensor(weight, dtype=torch.float64))
    expected = total / weight if weight > 0 else torch.tensor(0.0, dtype=torch.float64)  # no label: 0
    torch.testing.assert_close(multi_output_cross_entropy(logits, target, **options), expected)
