"""A residual MLP trunk: the worked example of swapping the trunk by config (`model=resmlp`).

Pre-norm residual blocks keep deep stacks trainable: each block adds
`Linear(GELU(Linear(LayerNorm(h))))` to `h`, so at worst a block learns to do nothing.
"""

from __future__ import annotations

from torch import Tensor, nn

from multiout.errors import InputError


class ResidualBlock(nn.Module):
    def __init__(self, width: int, expansion: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LayerNorm(width),
            nn.Linear(width, width * expansion),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(width * expansion, width),
        )

    def forward(self, h: Tensor) -> Tensor:
        return h + self.body(h)


class ResidualMLP(nn.Module):
    """`[B, in_features]` -> `[B, width]`: a linear stem, `depth` residual blocks, a final norm."""

    input_rank = 1  # rows `[F]` (models/trunks.py)

    def __init__(
        self, in_features: int, width: int = 256, depth: int = 3, expansion: int = 2, dropout: float = 0.1
    ) -> None:
        super().__init__()
        for key, value in (("width", width), ("depth", depth), ("expansion", expansion)):
            if value < 1:
                raise InputError(f"model.net.{key} must be at least 1, got {value}")
        if not 0.0 <= dropout < 1.0:
            raise InputError(f"model.net.dropout must lie in [0, 1), got {dropout}")
        self.stem = nn.Linear(in_features, width)
        self.blocks = nn.Sequential(*(ResidualBlock(width, expansion, dropout) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.out_features = width  # what the classifier's head reads

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.blocks(self.stem(x)))
