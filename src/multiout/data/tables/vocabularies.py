"""Vocabularies of categorical features from the training split, and every split's codes turned
into their indices, with one log line per split for values training never saw."""

from __future__ import annotations

import logging
from pathlib import Path

from torch import Tensor

from multiout.data.tables.categories import FileCategories, vocabulary
from multiout.errors import InputError

log = logging.getLogger(__name__)


def training_vocabularies(
    x: Tensor,
    positions: dict[str, int],
    files: dict[str, FileCategories],
    max_categories: int,
    path: str | Path,
) -> dict[str, list[str | None]]:
    """Each categorical feature's vocabulary, from the training rows `x` (file codes)."""
    vocabularies = {}
    for name, j in positions.items():
        vocab = vocabulary(files[name].present(x[:, j]))
        check_vocabulary_size(name, len(vocab), max_categories, path)
        vocabularies[name] = vocab
    return vocabularies


def check_vocabulary_size(name: str, size: int, max_categories: int, path: object) -> None:
    """A categorical column with more than `max_categories` values is most likely an id."""
    if size > max_categories:
        raise InputError(
            f"{path}: categorical column {name!r} has {size} distinct values in the training "
            f"split, more than data.max_categories={max_categories}; looks like an id column: put it "
            f"in data.exclude_columns or data.id_column, or raise data.max_categories"
        )


def encode_categories_(
    splits: dict[str, tuple[Tensor, ...]],
    categories: dict[str, dict[str, FileCategories]],
    positions: dict[str, int],
    vocabularies: dict[str, list[str | None]] | None,
    max_categories: int,
    path: str | Path,
) -> dict[str, list[str | None]]:
    """Every split's file codes -> indices of `vocabularies`, or, if None, of the training
    split's (returned)."""
    if vocabularies is None:
        if "train" not in categories:
            raise InputError(
                f"data: categorical columns {list(positions)} need their vocabularies from a train "
                f"split (data.path or data.train_path) or a checkpoint (ckpt_path)"
            )
        train = splits["train"][0]
        vocabularies = training_vocabularies(train, positions, categories["train"], max_categories, path)
    for split, files in categories.items():
        to_vocabularies_(split, splits[split][0], positions, files, vocabularies)
    return vocabularies


def to_vocabularies_(
    split: str,
    x: Tensor,
    positions: dict[str, int],
    files: dict[str, FileCategories],
    vocabularies: dict[str, list[str | None]],
) -> None:
    """Replaces the file codes in `x` by vocabulary indices (0: unseen in training)."""
    unseen = {name: files[name].to_vocabulary(x[:, j], vocabularies[name]) for name, j in positions.items()}
    log_unseen(split, unseen)


def log_unseen(split: str, unseen: dict[str, int]) -> None:
    """One line for a split's values that training never saw (now unknown), per column."""
    counts = [f"{count} value{'s' * (count != 1)} of {name!r}" for name, count in unseen.items() if count]
    if counts:
        log.warning(f"{split}: {', '.join(counts)} not seen in training -> unknown")
