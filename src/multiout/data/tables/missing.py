"""Missing feature values in the training split: which columns have gaps, and the statistics
(NaN-aware mean, standard deviation and median) that the model imputes and standardizes with."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from multiout.errors import InputError

log = logging.getLogger(__name__)


def imputed_features(
    x: Tensor, feature_names: Sequence[str], vocabularies: dict[str, list], path: str | Path
) -> list[str]:
    """The numeric features with gaps in the training rows `x`: the model adds a missing
    indicator for each. Logs each column's share of gaps (a missing category counts too);
    a column with no value at all is an `InputError`."""
    shares = {}
    for j, name in enumerate(feature_names):
        vocab = vocabularies.get(name)
        if vocab is None:
            gaps = x[:, j].isnan()
        else:  # the missing category is the vocabulary's last entry, None
            gaps = x[:, j] == len(vocab) if vocab and vocab[-1] is None else torch.zeros(0, dtype=torch.bool)
        shares[name] = gaps.double().mean().item() if len(gaps) else 0.0
    return check_missing_shares(shares, vocabularies, path)


def check_missing_shares(
    shares: Mapping[str, float], categorical: Collection[str], path: object
) -> list[str]:
    """The numeric features with a share of gaps above 0, logged in one line; a column with
    no value at all (share 1) is an `InputError`."""
    for name, share in shares.items():
        if share == 1.0:
            raise InputError(
                f"{path}: feature column {name!r} has no values in the training split (all missing); "
                f"exclude it with data.exclude_columns=[{name}]"
            )
    shares = {name: share for name, share in shares.items() if share > 0}
    if shares:
        listed = ", ".join(f"{name!r} {share:.1%}" for name, share in shares.items())
        log.info(
            f"missing feature values in the training split: {listed} (numbers: the training median "
            f"plus a missing indicator; categories: a category of their own)"
        )
    return [name for name in shares if name not in categorical]


def imputation_statistics(
    x: Tensor, numeric: Sequence[int], block_rows: int = 8192
) -> tuple[Tensor, Tensor, Tensor]:
    """Mean, standard deviation and median of each numeric feature over the values present,
    in float64 a block of rows at a time. The other positions (category indices) get 0, 1, 0,
    so standardizing leaves them unchanged; a constant feature gets a standard deviation of 1."""
    width = x.shape[1]
    total, count = torch.zeros(width, dtype=torch.float64), torch.zeros(width, dtype=torch.float64)
    for block in x.split(block_rows):
        total += block.double().nansum(dim=0)
        count += (~block.isnan()).sum(dim=0)
    mean = total / count.clamp(min=1)
    sq = torch.zeros_like(mean)
    for block in x.split(block_rows):
        sq += (block.double() - mean).square().nansum(dim=0)
    std = (sq / count.clamp(min=1)).sqrt()
    median = torch.zeros_like(mean)
    for j in numeric:
        median[j] = float(np.nanmedian(x[:, j].numpy()))
    others = torch.ones(width, dtype=torch.bool)
    others[list(numeric)] = False
    mean[others], std[others] = 0.0, 1.0
    std[std < 1e-12] = 1.0
    return mean.float(), std.float(), median.float()
