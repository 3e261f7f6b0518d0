"""OmegaConf resolvers that the configs use, registered when the entry points import `cli`."""

from __future__ import annotations

from omegaconf import OmegaConf


def repeat(value: int, times: int) -> list[int]:
    """`${repeat:256,3}` -> `[256, 256, 256]`: layer widths from a width and a depth, two
    numbers a hyperparameter sweeper can sample (it cannot sample lists)."""
    return [value] * int(times)


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("repeat"):
        OmegaConf.register_new_resolver("repeat", repeat)
