import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from multiout.data.synthetic import SyntheticDataModule
from multiout.errors import InputError


@pytest.fixture(scope="module")
def default_data():
    datamodule = SyntheticDataModule()  # the defaults of conf/data/synthetic.yaml
    datamodule.setup()
    return datamodule


def test_shapes_dtypes_and_class_ids(default_data):
    x, y = default_data.splits["train"]
    assert x.dtype == torch.float32 and x.shape == (32_000, 32)
    assert y.dtype == torch.int64 and y.shape == (32_000, 47)
    assert y.min() == 0 and y.max() == 2
    assert [len(default_data.splits[s][0]) for s in ("val", "test")] == [4000, 4000]


def test_same_data_every_time_and_disjoint_splits():
    a, b = SyntheticDataModule(num_samples=500), SyntheticDataModule(num_samples=500)
    a.setup()
    b.setup()
    for split in ("train", "val", "test"):
        assert all(torch.equal(p, q) for p, q in zip(a.splits[split], b.splits[split], strict=True))
    rows = torch.cat([a.splits[s][0] for s in ("train", "val", "test")])
    assert torch.unique(rows, dim=0).shape[0] == 500


def test_channels_are_correlated(default_data):
    _, y = default_data.splits["train"]
    corr = np.corrcoef(y.numpy().T)
    off_diagonal = np.abs(corr[~np.eye(47, dtype=bool)])
    assert off_diagonal.mean() > 0.05  # a shared hidden layer couples the channels


def test_default_difficulty_bayes_and_linear_baseline(default_data):
    """Bayes-optimal accuracy in [0.70, 0.90]; per-channel logistic regression >= 3 points below."""
    bayes = default_data.bayes_acc["test"]
    assert 0.70 <= bayes <= 0.90
    x_train, y_train = (t.numpy() for t in default_data.splits["train"])
    x_test, y_test = (t.numpy() for t in default_data.splits["test"])
    with threadpool_limits(1):  # small fits: threads only fight over the cores
        accuracies = [
            (
                LogisticRegression(max_iter=300).fit(x_train, y_train[:, c]).predict(x_test) == y_test[:, c]
            ).mean()
            for c in range(y_train.shape[1])
        ]
    assert np.mean(accuracies) <= bayes - 0.03


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_channels": 0}, "data.num_channels must be at least 1, got 0"),
        ({"num_classes": 1}, "data.num_classes must be at least 2"),
        ({"val_fraction": 0.0}, "data.val_fraction must lie strictly between 0 and 1"),
        ({"num_samples": 20, "test_fraction": 0.01}, "leave the test split empty with 20 rows"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "leave the train split empty"),
        ({"batch_size": 0}, "data.batch_size must be a positive integer"),
    ],
)
def test_bad_values_are_clear_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        SyntheticDataModule(**kwargs)
