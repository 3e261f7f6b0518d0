"""Train/val/test splits whose sizes are checked before anything runs.

Two ways to split, one entry point (`split_indices`) for every data module:
- a random split by fractions (`num_folds=None`, the default);
- K-fold cross-validation (`num_folds=K`, `fold=k`): the test rows stay fixed, the other
  rows are cut into K folds, fold k is the validation split and the rest train on it.

Both draw the same row permutation from `seed` and take the test rows from its end, so with
the same `seed` and `test_fraction` every fold of a K-fold, and the plain split, are tested
on exactly the same rows: their test scores are comparable.
"""

from __future__ import annotations

import torch
from torch import Tensor

from multiout.errors import InputError

SPLITS = ("train", "val", "test")


def _check_fraction(key: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise InputError(f"{key} must lie strictly between 0 and 1, got {value}")


def split_sizes(num_samples: int, val_fraction: float, test_fraction: float) -> dict[str, int]:
    """Rows per split; every split must end up non-empty."""
    _check_fraction("data.val_fraction", val_fraction)
    _check_fraction("data.test_fraction", test_fraction)
    num_val = round(num_samples * val_fraction)
    num_test = round(num_samples * test_fraction)
    sizes = {"train": num_samples - num_val - num_test, "val": num_val, "test": num_test}
    empty = [name for name, size in sizes.items() if size <= 0]
    if empty:
        raise InputError(
            f"data.val_fraction={val_fraction} and data.test_fraction={test_fraction} leave the "
            f"{'/'.join(empty)} split empty with {num_samples} rows; each split needs at least one row"
        )
    return sizes


def _permutation(num_samples: int, seed: int) -> Tensor:
    return torch.randperm(num_samples, generator=torch.Generator().manual_seed(seed))


def random_split_indices(
    num_samples: int, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, Tensor]:
    """Disjoint sorted row indices per split, drawn from `seed` (identical in every process)."""
    sizes = split_sizes(num_samples, val_fraction, test_fraction)
    parts = torch.split(_permutation(num_samples, seed), [sizes[name] for name in SPLITS])
    return {name: part.sort().values for name, part in zip(SPLITS, parts, strict=True)}


def kfold_split_indices(
    num_samples: int, test_fraction: float, num_folds: int, fold: int, seed: int
) -> dict[str, Tensor]:
    """Fold `fold` of a `num_folds`-fold split of the non-test rows is `val`, the rest `train`.

    The test rows are the same for every fold (and the same as `random_split_indices` with
    this `seed` and `test_fraction`); the K validation splits are disjoint and together cover
    every non-test row once. Fold sizes differ by at most one row.
    """
    if isinstance(num_folds, bool) or not isinstance(num_folds, int) or num_folds < 2:
        raise InputError(
            f"data.num_folds must be an integer of at least 2 (or null for no folds), got {num_folds}"
        )
    if isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold < num_folds:
        raise InputError(
            f"data.fold must be an integer from 0 to {num_folds - 1} (data.num_folds - 1), got {fold}"
        )
    _check_fraction("data.test_fraction", test_fraction)
    num_test = round(num_samples * test_fraction)
    num_rest = num_samples - num_test
    if num_test < 1 or num_rest < 2 * num_folds:
        raise InputError(
            f"data.num_folds={num_folds} with data.test_fraction={test_fraction} needs at least "
            f"{2 * num_folds} non-test rows and 1 test row; {num_samples} rows leave {num_rest} and {num_test}"
        )
    order = _permutation(num_samples, seed)
    rest, test = order[:num_rest], order[num_rest:]
    folds = torch.tensor_split(rest, num_folds)
    train = torch.cat([part for k, part in enumerate(folds) if k != fold])
    return {"train": train.sort().values, "val": folds[fold].sort().values, "test": test.sort().values}


def split_indices(
    num_samples: int,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    num_folds: int | None = None,
    fold: int = 0,
) -> dict[str, Tensor]:
    """`{"train", "val", "test"}` row indices: K-fold if `num_folds` is set, else random.

    With `num_folds` set, `val_fraction` is not used: the validation split is one fold.
    """
    if num_folds is None:
        return random_split_indices(num_samples, val_fraction, test_fraction, seed)
    return kfold_split_indices(num_samples, test_fraction, num_folds, fold, seed)
