"""`model.compile=true`: the classifier's logits through `torch.compile`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor


@functools.cache
def _compiled(logits: Callable[..., Tensor]) -> Callable[..., Tensor]:
    return torch.compile(logits)


def compiled_logits(model: Any, x: Tensor) -> Tensor:
    """`model.logits(x)` through one `torch.compile`d function per class, shared by its models."""
    return _compiled(type(model).logits)(model, x)
