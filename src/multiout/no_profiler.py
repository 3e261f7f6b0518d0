"""A profiler that records nothing and costs nothing: the default `trainer.profiler`."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

from lightning.pytorch.profilers import Profiler

_NOTHING = contextlib.nullcontext()


class NoProfiler(Profiler):
    """Lightning's `PassThroughProfiler`, without its per-call cost.

    Lightning wraps every hook call, for every callback, in `trainer.profiler.profile(name)`:
    about a hundred times a training step here. Its default pass-through profiler builds a
    generator-based context manager on each call (~1 µs); this one hands back one shared
    `nullcontext`, which at small CPU steps is a couple of percent of the step.
    `debug=profiler` (or any `trainer.profiler`) replaces it.
    """

    def start(self, action_name: str) -> None:
        pass

    def stop(self, action_name: str) -> None:
        pass

    def profile(self, action_name: str) -> AbstractContextManager[None]:  # type: ignore[override]
        return _NOTHING

    def summary(self) -> str:
        return ""
