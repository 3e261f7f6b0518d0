import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score
from torchmetrics.classification import MulticlassAccuracy
from torchmetrics.wrappers import MultioutputWrapper

from multiout.metrics.per_channel import (
    PerChannelConfusionMatrix,
    per_channel_accuracy,
    per_channel_macro_f1,
    predicted_classes,
)

B, C, K, IGNORE = 64, 7, 3, -100


def batches(num_batches: int, seed: int = 0, ignore_rate: float = 0.2):
    g = torch.Generator().manual_seed(seed)
    for _ in range(num_batches):
        logits = torch.randn(B, K, C, generator=g)
        target = torch.randint(0, K, (B, C), generator=g)
        target[torch.rand(B, C, generator=g) < ignore_rate] = IGNORE
        yield logits, target


def test_accuracy_matches_sklearn_column_by_column_with_ignored_labels():
    metric = PerChannelConfusionMatrix(C, K, IGNORE)
    all_logits, all_targets = [], []
    for logits, target in batches(5):
        metric.update(logits, target)
        all_logits.append(logits)
        all_targets.append(target)
    preds = torch.cat(all_logits).argmax(dim=1)
    target = torch.cat(all_targets)
    confmat = metric.compute()
    acc = per_channel_accuracy(confmat)
    f1 = per_channel_macro_f1(confmat)
    for c in range(C):
        keep = target[:, c] != IGNORE
        y_true, y_pred = target[keep, c].numpy(), preds[keep, c].numpy()
        assert acc[c].item() == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
        assert f1[c].item() == pytest.approx(f1_score(y_true, y_pred, average="macro"), abs=1e-12)


def test_accuracy_equals_multioutput_wrapper():
    ours = PerChannelConfusionMatrix(C, K, IGNORE)
    reference = MultioutputWrapper(
        MulticlassAccuracy(num_classes=K, average="micro", ignore_index=IGNORE), num_outputs=C, output_dim=-1
    )
    for logits, target in batches(4, seed=1):
        ours.update(logits, target)
        reference.update(logits, target)
    assert torch.equal(per_channel_accuracy(ours.compute()).float(), reference.compute().float())


def test_channel_without_labels_is_nan_not_zero():
    metric = PerChannelConfusionMatrix(3, K, IGNORE)
    target = torch.tensor([[0, IGNORE, 2], [1, IGNORE, 2]])
    metric.update(torch.tensor([[0, 1, 2], [1, 1, 0]]), target)
    acc = per_channel_accuracy(metric.compute())
    assert acc[0] == 1.0 and torch.isnan(acc[1]) and acc[2] == 0.5


def test_confusion_counts_by_hand():
    metric = PerChannelConfusionMatrix(2, 2, IGNORE)
    metric.update(torch.tensor([[1, 0], [1, 1], [0, 0]]), torch.tensor([[1, 1], [0, 1], [0, IGNORE]]))
    # channel 0: (true 1, pred 1), (0, 1), (0, 0); channel 1: (1, 0), (1, 1), third ignored
    expected = torch.tensor([[[1, 1], [0, 1]], [[0, 0], [1, 1]]])  # [channel, true, pred]
    assert torch.equal(metric.compute(), expected)


def test_wrong_shapes_are_rejected():
    metric = PerChannelConfusionMatrix(C, K)
    with pytest.raises(ValueError, match=r"\[B, 7\]"):
        metric.update(torch.zeros(4, 5, dtype=torch.long), torch.zeros(4, 5, dtype=torch.long))


@pytest.mark.parametrize("target_rows", [3, 1])  # 1: would broadcast, counting one row's labels 4 times
def test_predictions_and_targets_of_different_batch_sizes_are_rejected(target_rows):
    metric = PerChannelConfusionMatrix(C, K)
    with pytest.raises(ValueError, match=rf"got \(4, 7\) and \({target_rows}, 7\)"):
        metric.update(torch.zeros(4, C, dtype=torch.long), torch.zeros(target_rows, C, dtype=torch.long))


@pytest.mark.parametrize("num_classes", [2, 3, 4, 5])
def test_predicted_classes_is_numpys_argmax_ties_included(num_classes):
    g = torch.Generator().manual_seed(num_classes)
    # Few distinct values, so that many cells have ties for the largest logit.
    logits = torch.randint(0, 3, (50, num_classes, 9), generator=g).float()
    expected = logits.numpy().argmax(axis=1)  # numpy: the first maximum on ties
    assert torch.equal(predicted_classes(logits), torch.from_numpy(expected))
