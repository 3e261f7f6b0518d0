"""CPU threads on a busy machine: the default `cpu_threads=auto` against hand-picked counts.

    python scripts/benchmark.py --sections threads --rounds 2     # section 6 of the benchmark

Runs the default training (`python train.py trainer.max_epochs=2`, wall time of the whole
command) in alternating rounds, once with a competing busy process (a Python loop on one
core) and once without, and prints the ratios:

- busy: `auto` / the fastest hand-picked `cpu_threads=1..cores` (bar: at most 1.3);
- quiet: `auto` / the previous default, torch's own thread count with OpenMP's default
  wait policy (bar: at most 1.05).

The same for `trainer=ddp_sim`. Read the ratios, not the seconds: other work on the machine
moves both; the load average is printed at the start and the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.timing import interleaved, median, median_ratio

REPO_ROOT = Path(__file__).resolve().parents[2]
BARS = {"busy": 1.3, "quiet": 1.05}


@contextmanager
def competitor(busy: bool) -> Iterator[None]:
    """A Python busy loop on one core while the block runs, if `busy`."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        yield
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


def train_seconds(overrides: list[str], env: dict[str, str], busy: bool) -> float:
    """Wall seconds of `python train.py <overrides>` in a fresh directory."""
    with tempfile.TemporaryDirectory() as tmp, competitor(busy):
        command = [sys.executable, str(REPO_ROOT / "train.py"), f"hydra.run.dir={tmp}/run", *overrides]
        start = time.perf_counter()
        run = subprocess.run(
            command,
            cwd=tmp,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stderr[-3000:]}")
    return seconds


def candidates(trainer: str, cores: int, extra: list[str]) -> dict[str, Callable[[], float]]:
    """Every setting, busy and quiet, for one trainer config."""
    base = ["trainer.max_epochs=2", f"trainer={trainer}", *extra]
    # The previous default: torch's own count (Lightning's under DDP), OpenMP's own wait
    # policy (an empty value keeps it; libgomp notes it on stderr).
    previous = {"OMP_WAIT_POLICY": ""}
    torch_default = [] if trainer == "ddp_sim" else [f"cpu_threads={cores}"]
    found: dict[str, Callable[[], float]] = {
        "quiet auto": lambda: train_seconds(base, {}, busy=False),
        "quiet previous": lambda: train_seconds([*base, *torch_default], previous, busy=False),
        "busy auto": lambda: train_seconds(base, {}, busy=True),
    }
    if trainer == "ddp_sim":  # the previous default had Lightning set the threads itself
        found["quiet previous"] = lambda: train_seconds([*base, "cpu_threads=1"], previous, busy=False)
    for n in range(1, cores + 1):
        found[f"busy {n}"] = lambda n=n: train_seconds([*base, f"cpu_threads={n}"], {}, busy=True)
    return found


def threads(rounds: int, trainers: tuple[str, ...] = ("default", "ddp_sim")) -> dict[str, Any]:
    """Per trainer config: every setting's seconds, and the two ratios with their bars."""
    from multiout.runtime.cpu_threads import usable_cores

    cores = usable_cores()
    results: dict[str, Any] = {"usable_cores": cores, "load_average_at_start": os.getloadavg()}
    for trainer in trainers:
        runs = interleaved(candidates(trainer, cores, []), rounds)
        hand = [name for name in runs if name.startswith("busy ") and name != "busy auto"]
        best = min(hand, key=lambda name: median(runs[name]))
        results[trainer] = {
            "seconds": runs,
            "best_hand_picked": best,
            "busy_auto_vs_best": median_ratio(runs["busy auto"], runs[best]),
            "quiet_auto_vs_previous": median_ratio(runs["quiet auto"], runs["quiet previous"]),
        }
    results["load_average_at_end"] = os.getloadavg()
    return results


def report_rows(results: dict[str, Any]) -> list[tuple[str, float, float, float, str]]:
    """(measurement, seconds of auto, seconds of the baseline, ratio, verdict) per trainer and load."""
    rows = []
    for trainer, result in results.items():
        if not isinstance(result, dict):
            continue
        seconds, best = result["seconds"], result["best_hand_picked"]
        for load, ratio, baseline in (
            ("busy", result["busy_auto_vs_best"], best),
            ("quiet", result["quiet_auto_vs_previous"], "quiet previous"),
        ):
            verdict = f"{'ok' if ratio <= BARS[load] else 'MISSED'} (<= {BARS[load]})"
            name = f"6 trainer={trainer}, {load}: auto vs {baseline.removeprefix(load + ' ')} (s)"
            rows.append((name, median(seconds[f"{load} auto"]), median(seconds[baseline]), ratio, verdict))
    return rows
