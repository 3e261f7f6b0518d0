"""K-fold and random splits: disjoint, covering, with a fixed test split."""

import pytest
import torch

from multiout.data.splits import kfold_split_indices, random_split_indices, split_indices
from multiout.data.synthetic import SyntheticDataModule
from multiout.errors import InputError


def test_kfold_val_splits_partition_the_non_test_rows():
    n, k = 103, 5
    folds = [kfold_split_indices(n, 0.2, k, fold, seed=7) for fold in range(k)]
    test = folds[0]["test"]
    times_in_val = torch.zeros(n, dtype=torch.long)
    for split in folds:
        assert torch.equal(split["test"], test)  # the test rows never move
        rows = torch.cat([split["train"], split["val"], split["test"]])
        assert torch.equal(rows.sort().values, torch.arange(n))  # disjoint and covering
        times_in_val[split["val"]] += 1
    expected = torch.ones(n, dtype=torch.long)
    expected[test] = 0
    assert torch.equal(times_in_val, expected)  # every non-test row is validated exactly once
    sizes = sorted(len(split["val"]) for split in folds)
    assert sizes[-1] - sizes[0] <= 1


def test_kfold_tests_on_the_rows_of_the_plain_split():
    plain = random_split_indices(500, 0.1, 0.2, seed=3)
    assert torch.equal(kfold_split_indices(500, 0.2, 4, 2, seed=3)["test"], plain["test"])
    assert torch.equal(split_indices(500, 0.1, 0.2, seed=3)["val"], plain["val"])


@pytest.mark.parametrize(
    ("num_folds", "fold", "message"),
    [(1, 0, "data.num_folds"), (5, 5, "data.fold"), (5, -1, "data.fold"), (60, 0, "non-test rows")],
)
def test_bad_folds_are_input_errors(num_folds, fold, message):
    with pytest.raises(InputError, match=message):
        split_indices(100, 0.1, 0.2, seed=0, num_folds=num_folds, fold=fold)


def test_synthetic_data_uses_the_fold():
    a = SyntheticDataModule(num_samples=300, num_folds=3, fold=0)
    b = SyntheticDataModule(num_samples=300, num_folds=3, fold=1)
    a.setup(), b.setup()
    assert torch.equal(a.splits["test"][0], b.splits["test"][0])
    assert len(a.splits["val"][0]) == 90 and not torch.equal(a.splits["val"][0], b.splits["val"][0])
