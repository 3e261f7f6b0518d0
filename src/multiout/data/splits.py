"""Random train/val/test splits whose sizes are checked before anything runs."""

from __future__ import annotations

import torch
from torch import Tensor

from multiout.errors import InputError

SPLITS = ("train", "val", "test")


def split_sizes(num_samples: int, val_fraction: float, test_fraction: float) -> dict[str, int]:
    """Rows per split; every split must end up non-empty."""
    for key, value in (("data.val_fraction", val_fraction), ("data.test_fraction", test_fraction)):
        if not 0.0 < value < 1.0:
            raise InputError(f"{key} must lie strictly between 0 and 1, got {value}")
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


def random_split_indices(
    num_samples: int, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, Tensor]:
    """Disjoint row indices per split, drawn from `seed` (identical in every process)."""
    sizes = split_sizes(num_samples, val_fraction, test_fraction)
    order = torch.randperm(num_samples, generator=torch.Generator().manual_seed(seed))
    parts = torch.split(order, [sizes[name] for name in SPLITS])
    return {name: part.sort().values for name, part in zip(SPLITS, parts, strict=True)}
