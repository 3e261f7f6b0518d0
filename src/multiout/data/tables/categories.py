"""Categorical features as the model reads them: indices of the training split's vocabulary.

A categorical column becomes its category's index, stored in `x` as a float (exact below
2**24): 0 is a category not in the vocabulary (unseen in training), `i + 1` is entry `i` of
the column's vocabulary. A vocabulary is the training split's distinct values as strings,
sorted, with `None` last when the column had missing values there: a missing category is a
category of its own. Vocabularies are plain lists, so they travel in the data spec.

Rows are read before the training split's vocabulary is known, so a reader first stores each
value as a code numbered within the file (`FileCategories`); the statistics of the training
rows give the vocabulary (`training_vocabulary`) and `to_vocabulary` turns codes into indices.
A reader that already has the vocabulary (evaluate, predict, a streamed epoch) reads indices
directly (`VocabularyIndices`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor

from multiout.errors import InputError

log = logging.getLogger(__name__)

UNKNOWN = 0
MISSING_CODE = 0  # a file code: a missing value is code 0 in every file


def category_strings(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Any column (text, dictionary-encoded, boolean, integer codes) as strings, nulls kept.

    Booleans are spelled `True`/`False`, as pandas writes them to a CSV file, so that a model
    trained on one format reads the other alike.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_boolean(column.type):
        return pc.if_else(column, "True", "False")
    return column.cast(pa.string())


def vocabulary(values: Iterable[str | None]) -> list[str | None]:
    """Distinct values, sorted (deterministic whatever the row order), missing (`None`) last."""
    distinct = set(values)
    return sorted(v for v in distinct if v is not None) + ([None] if None in distinct else [])


class FileCategories:
    """Codes of one categorical column within one file: missing is `MISSING_CODE`, the other
    values are numbered as they first appear."""

    def __init__(self) -> None:
        self.values: list[str | None] = [None]
        self._codes: dict[str | None, int] = {None: MISSING_CODE}

    def codes(self, column: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """The column's codes, float32."""
        encoded = pc.dictionary_encode(category_strings(column), null_encoding="encode")
        lookup = np.array([self._code(v) for v in encoded.dictionary.to_pylist()], dtype=np.float32)
        return lookup[encoded.indices.to_numpy(zero_copy_only=False)]

    def _code(self, value: str | None) -> int:
        if value not in self._codes:
            self._codes[value] = len(self.values)
            self.values.append(value)
        return self._codes[value]

    def to_vocabulary(self, codes: Tensor, vocab: Sequence[str | None]) -> int:
        """Replaces `codes` in place by indices of `vocab`; returns how many are unknown (0)."""
        index = {v: i + 1 for i, v in enumerate(vocab)}
        lookup = torch.tensor([index.get(v, UNKNOWN) for v in self.values], dtype=codes.dtype)
        codes.copy_(lookup[codes.long()])
        return int((codes == UNKNOWN).sum())


class VocabularyIndices:
    """Indices of a known vocabulary (0: unseen in training), counting the unseen values."""

    def __init__(self, vocab: Sequence[str | None]) -> None:
        self.value_set = pa.array(list(vocab), pa.string())
        self.unseen = 0

    def codes(self, column: pa.Array | pa.ChunkedArray) -> np.ndarray:
        found = pc.index_in(category_strings(column), value_set=self.value_set)
        indices = pc.add(found, 1).fill_null(UNKNOWN).to_numpy(zero_copy_only=False).astype(np.float32)
        self.unseen += int(np.count_nonzero(indices == UNKNOWN))
        return indices


def training_vocabulary(
    name: str, file: FileCategories, codes: Iterable[int], max_categories: int, path: object
) -> list[str | None]:
    """The vocabulary of the values that the training rows' `codes` stand for."""
    vocab = vocabulary(file.values[int(c)] for c in codes)
    if len(vocab) > max_categories:  # most likely an id
        raise InputError(
            f"{path}: categorical column {name!r} has {len(vocab)} distinct values in the training "
            f"split, more than data.max_categories={max_categories}; looks like an id column: put it "
            f"in data.exclude_columns or data.id_column, or raise data.max_categories"
        )
    return vocab


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
