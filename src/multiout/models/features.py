"""The input encoder in front of the trunk: imputes missing numbers, flags them, embeds categories.

Its input is the standardized features `[B, F]` (`data/encoding.py`): numbers, NaN where
missing, and category indices (0: unseen in training, `i + 1`: vocabulary entry `i`), which
standardization leaves unchanged. Its output, `[B, out_features]`, is what the trunk reads:

    [numeric features, NaN -> training median | one 0/1 indicator per column with gaps in
     training | one embedding per categorical feature]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from multiout.errors import InputError


def check_feature_statistics(
    statistics: object, num_features: int, source: str
) -> tuple[Tensor, Tensor, Tensor]:
    """A data module's `feature_statistics()`: `(mean, std, median)`, three tensors `[F]`. A
    fork's module that returns anything else stops here, not as a shape error mid-training."""
    if (
        isinstance(statistics, tuple)
        and len(statistics) == 3
        and all(isinstance(t, Tensor) and t.shape == (num_features,) for t in statistics)
    ):
        return statistics
    got = (
        f"a tuple of {len(statistics)}: {[getattr(t, 'shape', type(t).__name__) for t in statistics]}"
        if isinstance(statistics, tuple)
        else type(statistics).__name__
    )
    raise TypeError(
        f"{source}.feature_statistics() must return (mean, std, median), three tensors of shape "
        f"[{num_features}] (data/missing.py:imputation_statistics computes them); got {got}"
    )


def embedding_size(num_categories: int) -> int:
    """fastai's rule of thumb, capped at 16: `min(16, round(1.6 * n ** 0.56))` for `n` categories
    (the vocabulary plus the unknown index)."""
    return max(1, min(16, round(1.6 * num_categories**0.56)))


class FeatureEncoder(nn.Module):
    """Features `[B, F]` -> `[B, out_features]`; plain values in, so checkpoints stay plain.

    `categorical_features` maps a feature name to its vocabulary; `imputed_features` names
    the numeric features that get a missing indicator. With neither (None), the encoder passes
    its input through: data without categories or gaps costs nothing. `embedding_dim` fixes
    every embedding's size; None takes `embedding_size` of each vocabulary.
    """

    fill: Tensor
    numeric_index: Tensor
    indicator_index: Tensor
    categorical_index: Tensor
    num_categories: Tensor

    def __init__(
        self,
        feature_names: Sequence[str],
        categorical_features: Mapping[str, Sequence] | None = None,
        imputed_features: Sequence[str] | None = None,
        embedding_dim: int | None = None,
    ) -> None:
        super().__init__()
        names = list(feature_names)
        self.active = categorical_features is not None or imputed_features is not None
        categorical = dict(categorical_features or {})
        missing = [name for name in [*categorical, *(imputed_features or [])] if name not in names]
        if missing:
            raise ValueError(f"features {missing} are not among feature_names {names}")
        if embedding_dim is not None and embedding_dim < 1:
            raise InputError(f"model.embedding_dim must be a positive integer or null, got {embedding_dim}")
        sizes = [len(vocab) + 1 for vocab in categorical.values()]  # + the unknown index 0
        widths = [embedding_dim or embedding_size(n) for n in sizes]
        self.embeddings = nn.ModuleList(nn.Embedding(n, d) for n, d in zip(sizes, widths, strict=True))
        positions = {name: j for j, name in enumerate(names)}
        index = {
            "numeric_index": [j for j, name in enumerate(names) if name not in categorical],
            "indicator_index": [positions[name] for name in imputed_features or []],
            "categorical_index": [positions[name] for name in categorical],
            "num_categories": sizes,
        }
        for key, values in index.items():  # moved with the model, not saved: they follow from hparams
            self.register_buffer(key, torch.tensor(values, dtype=torch.long), persistent=False)
        if self.active:
            # The training median of each feature, standardized: what a missing number becomes.
            self.register_buffer("fill", torch.zeros(len(names)))
        self.all_numeric = not categorical
        self.out_features = len(index["numeric_index"]) + len(index["indicator_index"]) + sum(widths)

    def forward(self, x: Tensor) -> Tensor:
        if not self.active:
            return x
        missing = x.isnan()
        numeric = torch.where(missing, self.fill, x)
        parts = [numeric if self.all_numeric else numeric[:, self.numeric_index]]
        if len(self.indicator_index):
            parts.append(missing[:, self.indicator_index].to(x.dtype))
        if len(self.embeddings):
            codes = x[:, self.categorical_index].nan_to_num(-1).long()
            codes = torch.where((codes >= 0) & (codes < self.num_categories), codes, 0)  # else unknown
            parts += [embed(codes[:, i]) for i, embed in enumerate(self.embeddings)]
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
