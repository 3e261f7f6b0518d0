"""Interleaved repeats and the medians and ratios drawn from them.

CPU measurements use this process's CPU time (`time.process_time`), with torch at one
thread: on a machine shared with other work, wall time mostly measures the neighbours.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable


def interleaved(candidates: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Call every candidate once per round, rotating the order; collect what each returns.

    Rotation keeps any candidate from always running first (cold caches) or last.
    """
    names = list(candidates)
    results: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            results[name].append(candidates[name]())
    return results


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of numerator / denominator, round by round."""
    return statistics.median(n / d for n, d in zip(numerator, denominator, strict=True))


def median(values: list[float]) -> float:
    return statistics.median(values)
