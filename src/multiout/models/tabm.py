"""A TabM-style trunk (`model/net=tabm`): k MLP members that share their weights.

Gorishniy, Kotelnikov and Babenko (ICLR 2025), "TabM: Advancing Tabular Deep Learning with
Parameter-Efficient Ensembling". Each Linear layer is shared by all members; member i adds
rank-1 adapters (BatchEnsemble): `s_i * (W (r_i * x)) + b_i`. The first layer's `r_i` start as
random signs, every other adapter at 1, so the members differ from the first step at almost
no cost in parameters. `adapters: first` is TabM-mini: only that first `r_i`, all layers shared.
TabM has no normalization; `norm: layer` (as the MLP's) is there so that configs written for
the MLP also run with this trunk.

The trunk returns one hidden per member, `[B, k, width]`, and says so with `ensemble_size`: the
classifier then trains every member on its own loss and averages the members' probabilities
to predict (models/ensemble.py), as TabM does. Unlike TabM, whose members have separate output
layers, the members here share the classifier's head.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from multiout.errors import InputError
from multiout.models.mlp import ACTIVATIONS

ADAPTERS = ("all", "first")


def random_signs(rows: int, columns: int) -> Tensor:
    return torch.randint(0, 2, (rows, columns)).float() * 2 - 1


class BatchEnsembleLinear(nn.Module):
    """`[B, k, in_features]` -> `[B, k, out_features]`: one shared weight, per-member adapters."""

    def __init__(self, in_features: int, out_features: int, members: int, signs: bool) -> None:
        super().__init__()
        bound = in_features**-0.5  # nn.Linear's initialization of the shared weight
        self.weight = nn.Parameter(nn.init.uniform_(torch.empty(out_features, in_features), -bound, bound))
        self.r = nn.Parameter(
            random_signs(members, in_features) if signs else torch.ones(members, in_features)
        )
        self.s = nn.Parameter(torch.ones(members, out_features))
        # One bias per member, all starting equal.
        self.bias = nn.Parameter(
            nn.init.uniform_(torch.empty(out_features), -bound, bound).repeat(members, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return (x * self.r) @ self.weight.T * self.s + self.bias


class InputSigns(nn.Module):
    """TabM-mini's only member-specific part: `[B, k, F]` scaled by `r_i`, random signs at first."""

    def __init__(self, in_features: int, members: int) -> None:
        super().__init__()
        self.r = nn.Parameter(random_signs(members, in_features))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.r


class TabM(nn.Module):
    """`[B, in_features]` -> `[B, ensemble_size, out_features]`: k weight-sharing MLP members."""

    input_rank = 1  # rows `[F]` (models/trunks.py)
    ensemble = True  # one hidden per member

    def __init__(
        self,
        in_features: int,
        hidden_sizes: list[int],
        ensemble_size: int = 32,
        dropout: float = 0.1,
        adapters: str = "all",
        activation: str = "relu",
        norm: str | None = None,
    ) -> None:
        super().__init__()
        if not hidden_sizes or min(hidden_sizes) < 1:
            raise InputError(
                f"model.net.hidden_sizes must list at least one positive width, got {hidden_sizes}"
            )
        if ensemble_size < 1:
            raise InputError(f"model.net.ensemble_size must be at least 1, got {ensemble_size}")
        if adapters not in ADAPTERS:
            raise InputError(f"model.net.adapters must be one of {list(ADAPTERS)}, got {adapters!r}")
        if activation not in ACTIVATIONS:
            raise InputError(f"model.net.activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if norm not in (None, "layer"):  # batch norm would mix the members' statistics
            raise InputError(f"model.net.norm must be null or 'layer', got {norm!r}")
        if not 0.0 <= dropout < 1.0:
            raise InputError(f"model.net.dropout must lie in [0, 1), got {dropout}")
        layers: list[nn.Module] = [] if adapters == "all" else [InputSigns(in_features, ensemble_size)]
        width = in_features
        for index, size in enumerate(hidden_sizes):
            if adapters == "all":
                layers.append(BatchEnsembleLinear(width, size, ensemble_size, signs=index == 0))
            else:
                layers.append(nn.Linear(width, size))
            if norm is not None:
                layers.append(nn.LayerNorm(size))
            layers += [ACTIVATIONS[activation](), nn.Dropout(dropout)]
            width = size
        self.layers = nn.Sequential(*layers)
        self.ensemble_size = ensemble_size  # the classifier's cue: outputs are per member
        self.out_features = width

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x.unsqueeze(1).expand(-1, self.ensemble_size, -1))
