"""Feature values as the model reads them: one float32 matrix `[N, F]` in `feature_names` order.

A numeric column is its value, NaN where it is missing (the model imputes it). A categorical
column is its category's index, stored as a float (exact below 2**24): 0 is a category not in
the vocabulary (unseen in training), `i + 1` is entry `i` of the column's vocabulary. A
vocabulary is the training split's distinct values as strings, sorted, with `None` last when
the column had missing values there: a missing category is a category of its own.
Vocabularies are plain lists, so they travel in checkpoints and back into data modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor

UNKNOWN = 0


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


def build_vocabularies(batches: Iterable[pa.RecordBatch | pa.Table], names: Sequence[str]) -> dict[str, list]:
    """The vocabulary of each of `names` over the training rows in `batches`, a batch at a time."""
    seen: dict[str, set[str | None]] = {name: set() for name in names}
    for batch in batches:
        for name in names:
            seen[name].update(pc.unique(category_strings(batch.column(name))).to_pylist())
    return {name: vocabulary(values) for name, values in seen.items()}


def category_indices(column: pa.Array | pa.ChunkedArray, vocab: Sequence[str | None]) -> np.ndarray:
    """Each value's index in `vocab` plus one (float32); 0 for a value not in it."""
    found = pc.index_in(category_strings(column), value_set=pa.array(list(vocab), pa.string()))
    return (pc.add(found, 1).fill_null(UNKNOWN)).to_numpy(zero_copy_only=False).astype(np.float32)


def encode_features(
    batch: pa.RecordBatch | pa.Table, feature_names: Sequence[str], vocabularies: Mapping[str, Sequence]
) -> Tensor:
    """`x [N, F]` float32 of a batch of rows: numeric values (NaN where missing) and, for the
    columns in `vocabularies`, category indices."""
    x = np.empty((batch.num_rows, len(feature_names)), dtype=np.float32)
    for j, name in enumerate(feature_names):
        column = batch.column(name)
        if name in vocabularies:
            x[:, j] = category_indices(column, vocabularies[name])
        else:
            x[:, j] = column.cast(pa.float32()).to_numpy(zero_copy_only=False)
    return torch.from_numpy(x)


class FileCategories:
    """Codes of one categorical column within one file, numbered as values first appear.

    A file is read before the training split (and so the vocabulary) is known; its values
    are stored as these codes and turned into vocabulary indices by `to_vocabulary` after.
    """

    def __init__(self) -> None:
        self.values: list[str | None] = []
        self._codes: dict[str | None, int] = {}

    def codes(self, column: pa.Array) -> np.ndarray:
        """The column's codes, float32."""
        encoded = pc.dictionary_encode(category_strings(column), null_encoding="encode")
        lookup = np.array([self._code(v) for v in encoded.dictionary.to_pylist()], dtype=np.float32)
        return lookup[encoded.indices.to_numpy(zero_copy_only=False)]

    def _code(self, value: str | None) -> int:
        if value not in self._codes:
            self._codes[value] = len(self.values)
            self.values.append(value)
        return self._codes[value]

    def present(self, codes: Tensor) -> list[str | None]:
        """The values that `codes` (a subset of this file's rows) hold."""
        return [self.values[int(c)] for c in torch.unique(codes).tolist()]

    def to_vocabulary(self, codes: Tensor, vocab: Sequence[str | None]) -> int:
        """Replaces `codes` in place by indices of `vocab`; returns how many are unknown (0)."""
        index = {v: i + 1 for i, v in enumerate(vocab)}
        lookup = torch.tensor([index.get(v, UNKNOWN) for v in self.values] or [UNKNOWN], dtype=codes.dtype)
        codes.copy_(lookup[codes.long()])
        return int((codes == UNKNOWN).sum())
