"""What a trunk declares, and the check that it fits the encoder's output before training.

A trunk is any `nn.Module` class whose constructor takes `in_features` (the size of the last
dimension of its input) and that sets an integer attribute `out_features`. Two class
attributes say what it takes and gives:

- `input_rank`: the dimensions of one example it reads: 1 for a row `[F]` (the default), 2 for
  a window `[L, F]`, and so on. Its input is `[B, *example]`.
- `ensemble`: True if it returns one hidden per member, `[B, k, out_features]`
  (models/ensemble.py), else `[B, out_features]` (the default).

Its config (`conf/model/net/*.yaml`) holds its constructor arguments, and may also say
`min_steps`: the optimizer steps it needs at those defaults. The training budget reads that
(runtime/budget.py); the trunk's constructor never sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from multiout.errors import InputError
from multiout.models.targets import build, target_class

# Keys of a trunk's config that are about training it, not arguments of its class.
TRAINING_KEYS = ("min_steps",)

# Trunks to suggest for an input of each rank (one example's dimensions).
FITTING_TRUNKS = {
    1: "model/net=mlp",
    2: "model/net=conv1d, model/net=gru or model/net=transformer",  # part: windows
}


def input_rank(trunk: type | nn.Module) -> int:
    return int(getattr(trunk, "input_rank", 1))


def is_ensemble(trunk: type | nn.Module) -> bool:
    return bool(getattr(trunk, "ensemble", False))


def trunk_width(trunk: nn.Module) -> int:
    """The size of the trunk's hidden output, which the head reads."""
    return int(getattr(trunk, "out_features"))  # noqa: B009 (checked by build_trunk)


def build_trunk(net: Mapping[str, Any], example_shape: list[int]) -> nn.Module:
    """The trunk of `net` (`_target_` and arguments) for examples of `example_shape` (the
    encoder's output), checked to take that shape before it is built."""
    net = {key: value for key, value in net.items() if key not in TRAINING_KEYS}
    cls = target_class(net, "model.net")
    if input_rank(cls) != len(example_shape):
        suggestion = FITTING_TRUNKS.get(len(example_shape), f"a trunk with input_rank = {len(example_shape)}")
        raise InputError(
            f"model.net: {net['_target_']} takes examples of {input_rank(cls)} dimension(s) (input_rank), "
            f"but the data gives examples of shape {list(example_shape)}; use {suggestion}"
        )
    trunk = build(net, "model.net", in_features=example_shape[-1])
    if not isinstance(getattr(trunk, "out_features", None), int):
        raise InputError(f"model.net: {net['_target_']} must set an integer attribute `out_features`")
    return trunk
