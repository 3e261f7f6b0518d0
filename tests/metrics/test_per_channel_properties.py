"""Per-channel confusion counts, accuracy and macro F1 against scikit-learn, channel by
channel, over random shapes, batches, ignored cells and both kinds of input."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from multiout.metrics.per_channel import (
    PerChannelConfusionMatrix,
    per_channel_accuracy,
    per_channel_macro_f1,
)


@st.composite
def updates(draw) -> dict:
    """Shapes, an ignore index, and the batches of one evaluation: logits `[B, K, C]` (often
    with tied maxima) or class ids `[B, C]` of any integer type, and targets `[B, C]` with
    ignored cells; the batches are shared round-robin by `processes` metrics."""
    classes, channels = draw(st.integers(2, 6)), draw(st.integers(1, 5))
    ignore_index = draw(st.sampled_from([-100, -1]))
    as_logits, tied = draw(st.booleans()), draw(st.booleans())
    id_type = draw(st.sampled_from([torch.int64, torch.int32, torch.uint8]))
    ignore_rate = draw(st.sampled_from([0.0, 0.3, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    batches = []
    for size in draw(st.lists(st.integers(1, 30), min_size=1, max_size=4)):
        if as_logits:
            shape = (size, classes, channels)
            logits = rng.integers(0, 3, shape) if tied else rng.normal(size=shape)
            preds = torch.tensor(logits, dtype=torch.float32)
        else:
            preds = torch.tensor(rng.integers(0, classes, (size, channels))).to(id_type)
        target = rng.integers(0, classes, (size, channels))
        target[rng.random((size, channels)) < ignore_rate] = ignore_index
        batches.append((preds, torch.tensor(target)))
    processes = draw(st.integers(1, 3))
    return {
        "classes": classes,
        "channels": channels,
        "ignore_index": ignore_index,
        "batches": batches,
        "processes": processes,
    }


def labelled_pairs(case: dict, channel: int) -> tuple[np.ndarray, np.ndarray]:
    """True and predicted class ids of one channel's labelled cells, over all batches."""
    true, pred = [], []
    for preds, target in case["batches"]:
        ids = (
            preds.numpy().argmax(axis=1) if preds.is_floating_point() else preds.numpy()
        )  # first max on ties
        keep = target[:, channel].numpy() != case["ignore_index"]
        true.append(target[:, channel].numpy()[keep])
        pred.append(ids[:, channel][keep])
    return np.concatenate(true), np.concatenate(pred)


@settings(max_examples=80, deadline=None)
@given(case=updates())
def test_counts_accuracy_and_f1_match_sklearn_per_channel(case):
    # One metric per process, each updated with its share of the batches, then merged as a
    # multi-process sync would reduce them.
    metrics = [
        PerChannelConfusionMatrix(case["channels"], case["classes"], case["ignore_index"])
        for _ in range(case["processes"])
    ]
    for i, (preds, target) in enumerate(case["batches"]):
        metrics[i % len(metrics)].update(preds, target)
    for other in metrics[1:]:
        metrics[0].merge_state(other)
    confmat = metrics[0].compute()
    acc, f1 = per_channel_accuracy(confmat), per_channel_macro_f1(confmat)
    for c in range(case["channels"]):
        y, p = labelled_pairs(case, c)
        if len(y) == 0:  # a channel without labels: no counts, and no score rather than 0
            assert confmat[c].sum() == 0
            assert math.isnan(acc[c]) and math.isnan(f1[c])
            continue
        assert confmat[c].tolist() == confusion_matrix(y, p, labels=range(case["classes"])).tolist()
        assert math.isclose(acc[c], accuracy_score(y, p))
        assert math.isclose(f1[c], f1_score(y, p, average="macro", labels=np.union1d(y, p)))
