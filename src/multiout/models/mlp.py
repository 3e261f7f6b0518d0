"""The default trunk: a plain multi-layer perceptron."""

from __future__ import annotations

from torch import nn

from multiout.errors import InputError

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}
NORMS = {"layer": nn.LayerNorm, "batch": nn.BatchNorm1d}


class MLP(nn.Sequential):
    """`[B, in_features]` -> `[B, out_features]`: Linear, optional norm, activation, dropout."""

    input_rank = 1  # rows `[F]` (models/trunks.py)

    def __init__(
        self,
        in_features: int,
        hidden_sizes: list[int],
        activation: str = "gelu",
        dropout: float = 0.0,
        norm: str | None = None,
    ) -> None:
        if not hidden_sizes:
            raise InputError("model.net.hidden_sizes must list at least one layer width")
        if activation not in ACTIVATIONS:
            raise InputError(f"model.net.activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if norm is not None and norm not in NORMS:
            raise InputError(f"model.net.norm must be null or one of {sorted(NORMS)}, got {norm!r}")
        if not 0.0 <= dropout < 1.0:
            raise InputError(f"model.net.dropout must lie in [0, 1), got {dropout}")
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden_sizes:
            layers.append(nn.Linear(width, size))
            if norm is not None:
                layers.append(NORMS[norm](size))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        super().__init__(*layers)
        self.out_features = width
