"""Trunks over windows `[B, L, F]` -> `[B, out_features]` (`input_rank = 2`, models/trunks.py):
a temporal convolution stack, a GRU, and a small transformer encoder."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from multiout.errors import InputError

POOLING = ("mean", "last")


def _check(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"model.net.{name} must be a positive integer, got {value!r}")


def _check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout < 1.0:
        raise InputError(f"model.net.dropout must lie in [0, 1), got {dropout}")


class Conv1dTrunk(nn.Module):
    """`layers` causal convolutions over time (kernel `kernel_size`, dilation doubling per
    layer, GELU, residual from the second layer on), then the mean over time or the last step."""

    input_rank = 2  # one example is a window [L, F]

    def __init__(
        self,
        in_features: int,
        hidden: int = 64,
        layers: int = 2,
        kernel_size: int = 3,
        pooling: str = "last",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for name, value in (("hidden", hidden), ("layers", layers), ("kernel_size", kernel_size)):
            _check(name, value)
        if pooling not in POOLING:
            raise InputError(f"model.net.pooling must be one of {list(POOLING)}, got {pooling!r}")
        _check_dropout(dropout)
        self.convs = nn.ModuleList(
            nn.Conv1d(in_features if i == 0 else hidden, hidden, kernel_size, dilation=2**i)
            for i in range(layers)
        )
        self.pads = [(kernel_size - 1) * 2**i for i in range(layers)]
        self.act, self.drop, self.pooling = nn.GELU(), nn.Dropout(dropout), pooling
        self.out_features = hidden

    def forward(self, x: Tensor) -> Tensor:
        h = x.transpose(1, 2)  # [B, F, L]: channels first, as Conv1d reads them
        for i, (conv, pad) in enumerate(zip(self.convs, self.pads, strict=True)):
            # Left padding only: step t sees steps up to t, so the last step sees the whole window.
            out = self.drop(self.act(conv(nn.functional.pad(h, (pad, 0)))))
            h = out if i == 0 else h + out
        return h[..., -1] if self.pooling == "last" else h.mean(dim=-1)


class GRUTrunk(nn.Module):
    """The last hidden state of a GRU over the window."""

    input_rank = 2

    def __init__(self, in_features: int, hidden: int = 64, layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        _check("hidden", hidden)
        _check("layers", layers)
        _check_dropout(dropout)
        self.gru = nn.GRU(
            in_features, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.out_features = hidden

    def forward(self, x: Tensor) -> Tensor:
        return self.gru(x)[1][-1]


def sinusoidal_positions(length: int, width: int) -> Tensor:
    """`[length, width]`: the fixed sine/cosine position codes of "Attention is all you need"."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    codes = torch.zeros(length, width)
    codes[:, 0::2] = torch.sin(position * rate)
    codes[:, 1::2] = torch.cos(position * rate[: width // 2])
    return codes


class TransformerTrunk(nn.Module):
    """A linear projection to `hidden`, sinusoidal position codes counted back from the last
    step (so any window length works), a pre-norm transformer encoder, and the last step."""

    input_rank = 2
    positions: Tensor

    def __init__(
        self,
        in_features: int,
        hidden: int = 64,
        layers: int = 2,
        heads: int = 4,
        dropout: float = 0.0,
        max_length: int = 512,
    ) -> None:
        super().__init__()
        for name, value in (("hidden", hidden), ("layers", layers), ("heads", heads)):
            _check(name, value)
        if hidden % heads:
            raise InputError(f"model.net.hidden={hidden} must be a multiple of model.net.heads={heads}")
        _check_dropout(dropout)
        self.project = nn.Linear(in_features, hidden)
        # Reversed: row -1 of the table is the window's last step, whatever the window's length.
        self.register_buffer("positions", sinusoidal_positions(max_length, hidden).flip(0), persistent=False)
        layer = nn.TransformerEncoderLayer(
            hidden, heads, 2 * hidden, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.out_features = hidden

    def forward(self, x: Tensor) -> Tensor:
        length = x.shape[1]
        if length > len(self.positions):
            raise InputError(
                f"model.net.max_length={len(self.positions)} is shorter than the window, {length}"
            )
        h = self.project(x) + self.positions[-length:]
        return self.norm(self.encoder(h)[:, -1])
