"""Hydra's sweep syntax as an Optuna search space, and a trial's parameters back as overrides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from multiout.errors import InputError


def distribution(override: Override) -> BaseDistribution:
    """`interval(a, b)` -> uniform floats (Hydra reads both ends as floats), `tag(log,
    interval(a, b))` -> log-uniform, `range(a, b[, step])` -> the integers (or evenly spaced
    floats) Hydra's own sweeper would try, end excluded; `choice(...)` -> categorical."""
    value = override.value()
    if override.is_interval_sweep():
        assert isinstance(value, IntervalSweep)
        return FloatDistribution(float(value.start), float(value.end), log="log" in value.tags)  # type: ignore[arg-type]
    values: list[Any] = list(override.sweep_iterator(transformer=Transformer.encode))
    if override.is_range_sweep():
        assert isinstance(value, RangeSweep)
        if not values:
            raise InputError(f"hydra.sweeper.params: {override.input_line} is an empty range")
        if all(isinstance(v, int) for v in values):
            return IntDistribution(values[0], values[-1], step=int(value.step or 1))
        return FloatDistribution(float(values[0]), float(values[-1]), step=float(value.step or 1))
    if override.is_choice_sweep():
        return CategoricalDistribution(values)
    raise InputError(f"hydra.sweeper.params: {override.input_line} is not interval, range or choice")


def search_space(overrides: Iterable[str]) -> tuple[dict[str, BaseDistribution], dict[str, str]]:
    """The searched parameters and the fixed ones (`key=value`, passed to every job as given).

    A later override of a key replaces an earlier one, so the command line beats
    `hydra.sweeper.params`: a plain value there fixes a searched parameter.
    """
    searched: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.get_key_element()
        searched.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            searched[key] = distribution(override)
        else:
            fixed[key] = override.input_line or f"{key}={override.get_value_element_as_str()}"
    return searched, fixed


def trial_overrides(params: Mapping[str, Any], fixed: Mapping[str, str]) -> list[str]:
    """One job's overrides: the fixed ones as given, then the trial's sampled values."""
    return [*fixed.values(), *(f"{key}={value}" for key, value in params.items())]
