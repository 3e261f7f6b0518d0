"""OmegaConf resolvers that the configs use, registered when the entry points import `runtime.run`."""

from __future__ import annotations

import functools

from omegaconf import OmegaConf

from multiout.errors import exit_on_input_error
from multiout.runtime.run_dir import choose_run_dir, config_subdir, output_dir


def repeat(value: int, times: int) -> list[int]:
    """`${repeat:256,3}` -> `[256, 256, 256]`: layer widths from a width and a depth, two
    numbers a hyperparameter sweeper can sample (it cannot sample lists)."""
    return [value] * int(times)


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("repeat"):
        OmegaConf.register_new_resolver("repeat", repeat)
    # The run dir is chosen by config resolvers: Hydra resolves them before the task starts.
    # Cached: one process claims one new dir, however often its config is resolved.
    run_dir = exit_on_input_error()(functools.cache(choose_run_dir))
    OmegaConf.register_new_resolver("run_dir", run_dir, use_cache=True, replace=True)
    OmegaConf.register_new_resolver("run_config_subdir", exit_on_input_error()(config_subdir), replace=True)
    OmegaConf.register_new_resolver("run_output_dir", output_dir, replace=True)
