"""Input encoders: what stands between the data's `x` and the trunk, chosen by the data spec.

The tabular encoder reads the features along the last dimension of `x` (`[B, F]` rows, or
`[B, L, F]` windows of rows): numbers (NaN where missing) and category indices (0: unseen in
training, `i + 1`: vocabulary entry `i`). It standardizes the numbers with the training
split's statistics, imputes gaps with the training median and flags them, and embeds the
categories. Its output's last dimension is what the trunk reads:

    [numeric features, NaN -> training median | one 0/1 indicator per column with gaps in
     training | one embedding per categorical feature]

Any other input (a data spec without statistics: images, windows a data module already
scaled, a forker's tensors) goes through the plain encoder, which changes nothing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from multiout.data.spec import InputSpec
from multiout.errors import InputError


def embedding_size(num_categories: int) -> int:
    """fastai's rule of thumb, capped at 16: `min(16, round(1.6 * n ** 0.56))` for `n` categories
    (the vocabulary plus the unknown index)."""
    return max(1, min(16, round(1.6 * num_categories**0.56)))


def build_encoder(spec: InputSpec, embedding_dim: int | None = None) -> PlainEncoder | TabularEncoder:
    """The tabular encoder where the spec carries feature statistics, else the plain one."""
    return TabularEncoder(spec, embedding_dim) if spec.tabular else PlainEncoder(spec)


class PlainEncoder(nn.Module):
    """`x` as it comes: `out_shape` is the input's shape."""

    def __init__(self, spec: InputSpec) -> None:
        super().__init__()
        self.out_shape = list(spec.shape)

    def forward(self, x: Tensor) -> Tensor:
        return x


class TabularEncoder(nn.Module):
    """Features `[..., F]` -> `[..., out_features]`, with the statistics of `spec` as its state
    (buffers, saved in checkpoints); `embedding_dim` fixes every embedding's size, None takes
    `embedding_size` of each vocabulary."""

    mean: Tensor
    std: Tensor
    fill: Tensor
    numeric_index: Tensor
    indicator_index: Tensor
    categorical_index: Tensor
    num_categories: Tensor

    def __init__(self, spec: InputSpec, embedding_dim: int | None = None) -> None:
        super().__init__()
        if embedding_dim is not None and embedding_dim < 1:
            raise InputError(f"model.embedding_dim must be a positive integer or null, got {embedding_dim}")
        names, categorical = list(spec.feature_names), dict(spec.categorical)
        stats = {
            key: torch.tensor(values, dtype=torch.float32) for key, values in (spec.statistics or {}).items()
        }
        self.register_buffer("mean", stats["mean"])
        self.register_buffer("std", stats["std"])
        # The training median of each feature, standardized: what a missing number becomes.
        self.register_buffer("fill", (stats["median"] - stats["mean"]) / stats["std"])
        sizes = [len(vocab) + 1 for vocab in categorical.values()]  # + the unknown index 0
        widths = [embedding_dim or embedding_size(n) for n in sizes]
        self.embeddings = nn.ModuleList(nn.Embedding(n, d) for n, d in zip(sizes, widths, strict=True))
        positions = {name: j for j, name in enumerate(names)}
        index = {
            "numeric_index": [j for j, name in enumerate(names) if name not in categorical],
            "indicator_index": [positions[name] for name in spec.imputed],
            "categorical_index": [positions[name] for name in categorical],
            "num_categories": sizes,
        }
        for key, values in index.items():  # moved with the model, not saved: they follow from the spec
            self.register_buffer(key, torch.tensor(values, dtype=torch.long), persistent=False)
        self.all_numeric = not categorical
        width = len(index["numeric_index"]) + len(index["indicator_index"]) + sum(widths)
        self.out_shape = [*spec.shape[:-1], width]

    def forward(self, x: Tensor) -> Tensor:
        x = (x - self.mean) / self.std  # category indices: mean 0, std 1, so they stay as they are
        missing = x.isnan()
        numeric = torch.where(missing, self.fill, x)
        parts = [numeric if self.all_numeric else numeric[..., self.numeric_index]]
        if len(self.indicator_index):
            parts.append(missing[..., self.indicator_index].to(x.dtype))
        if len(self.embeddings):
            codes = x[..., self.categorical_index].nan_to_num(-1).long()
            codes = torch.where((codes >= 0) & (codes < self.num_categories), codes, 0)  # else unknown
            parts += [embed(codes[..., i]) for i, embed in enumerate(self.embeddings)]
        return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
