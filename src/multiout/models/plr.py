"""Periodic embeddings of numeric features in front of an MLP (`model/net=plr_mlp`) or of
TabM (`model/net=plr_tabm`).

Gorishniy, Rubachev and Babenko (NeurIPS 2022), "On Embeddings for Numerical Features in
Tabular Deep Learning": each feature x_j becomes `ReLU(Linear([sin(2 pi c_j x), cos(2 pi c_j x)]))`
with learned frequencies `c_j ~ N(0, frequency_scale)` (PLR), one Linear per feature, or one
shared by all features (`lite`, as in TabR/TabM). An MLP sees the flattened embeddings and
can then fit sharp, non-monotone effects of single features that it fits poorly from the raw
number. In front of TabM (models/tabm.py) they follow the TabM paper, whose recommended
variant puts numeric embeddings before the members (piecewise-linear there, before TabM-mini);
these are their periodic counterpart. Inputs arrive standardized by the classifier, so
`frequency_scale` is in units of the training std. Parameter initialization follows the
`rtdl-num-embeddings` package.

Piecewise-linear encoding (the paper's other embedding) needs bin edges from training
quantiles, which the data module does not provide; it is not implemented.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from multiout.errors import InputError
from multiout.models.mlp import MLP
from multiout.models.tabm import TabM


class PeriodicEmbeddings(nn.Module):
    """`[B, F]` -> `[B, F, d_embedding]`: periodic features, a linear map, ReLU, per feature."""

    def __init__(
        self, num_features: int, d_embedding: int, n_frequencies: int, frequency_scale: float, lite: bool
    ) -> None:
        super().__init__()
        for key, value in (("d_embedding", d_embedding), ("n_frequencies", n_frequencies)):
            if value < 1:
                raise InputError(f"model.net.{key} must be at least 1, got {value}")
        if not frequency_scale > 0:
            raise InputError(f"model.net.frequency_scale must be positive, got {frequency_scale}")
        bound = 3 * frequency_scale  # no extreme frequencies at the start
        self.frequencies = nn.Parameter(
            nn.init.trunc_normal_(
                torch.empty(num_features, n_frequencies), 0.0, frequency_scale, -bound, bound
            )
        )
        width = 2 * n_frequencies
        self.lite = lite
        # Per feature: weight [F, 2n, d] and bias [F, d]; lite: one Linear(2n, d) for all.
        shape = (width, d_embedding) if lite else (num_features, width, d_embedding)
        self.weight = nn.Parameter(nn.init.uniform_(torch.empty(shape), -(width**-0.5), width**-0.5))
        self.bias = nn.Parameter(
            nn.init.uniform_(torch.empty((*shape[:-2], d_embedding)), -(width**-0.5), width**-0.5)
        )

    def forward(self, x: Tensor) -> Tensor:
        angles = 2 * math.pi * self.frequencies * x.unsqueeze(-1)  # [B, F, n]
        periodic = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)  # [B, F, 2n]
        if self.lite:
            projected = periodic @ self.weight
        else:
            projected = torch.einsum("bfi,fio->bfo", periodic, self.weight)
        return torch.relu(projected + self.bias)


class PLRMLP(nn.Module):
    """`[B, in_features]` -> `[B, out_features]`: periodic embeddings, flattened, then `MLP`."""

    input_rank = 1  # rows `[F]` (models/trunks.py)

    def __init__(
        self,
        in_features: int,
        hidden_sizes: list[int],
        d_embedding: int = 24,
        n_frequencies: int = 48,
        frequency_scale: float = 0.01,
        lite: bool = False,
        activation: str = "gelu",
        dropout: float = 0.0,
        norm: str | None = None,
    ) -> None:
        super().__init__()
        self.embeddings = PeriodicEmbeddings(in_features, d_embedding, n_frequencies, frequency_scale, lite)
        self.mlp = MLP(in_features * d_embedding, hidden_sizes, activation, dropout, norm)
        self.out_features = self.mlp.out_features

    def forward(self, x: Tensor) -> Tensor:
        return self.mlp(self.embeddings(x).flatten(1))


class PLRTabM(nn.Module):
    """`[B, in_features]` -> `[B, ensemble_size, out_features]`: periodic embeddings, flattened,
    then `TabM`, whose members all read the same embeddings."""

    input_rank = 1  # rows `[F]` (models/trunks.py)
    ensemble = True  # one hidden per member

    def __init__(
        self,
        in_features: int,
        hidden_sizes: list[int],
        ensemble_size: int = 32,
        d_embedding: int = 16,
        n_frequencies: int = 48,
        frequency_scale: float = 0.01,
        lite: bool = True,
        dropout: float = 0.1,
        adapters: str = "all",
        activation: str = "relu",
        norm: str | None = None,
    ) -> None:
        super().__init__()
        self.embeddings = PeriodicEmbeddings(in_features, d_embedding, n_frequencies, frequency_scale, lite)
        self.tabm = TabM(
            in_features * d_embedding, hidden_sizes, ensemble_size, dropout, adapters, activation, norm
        )
        self.ensemble_size = ensemble_size  # the classifier's cue: outputs are per member
        self.out_features = self.tabm.out_features

    def forward(self, x: Tensor) -> Tensor:
        return self.tabm(self.embeddings(x).flatten(1))
