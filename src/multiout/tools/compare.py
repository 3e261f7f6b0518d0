"""Compare finished runs: one table of their metrics and of the overrides that differ.

A run is a directory with `metrics.json` and Hydra's `.hydra/` files. Runs that differ only
in a replicate key (`seed`, `data.fold`) are one configuration: the table shows the mean and
standard deviation of each metric over them, and the replicate values it averaged.
"""

from __future__ import annotations

import csv
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from rich.table import Table

from multiout.errors import InputError
from multiout.metrics.results import PER_CHANNEL
from multiout.runtime.run_dir import CHECKPOINT_RECORD

REPLICATE_KEYS = ("seed", "data.fold")
# Every metric of `metrics/results.py`, then the loss, of the validation and test splits.
DEFAULT_METRICS = tuple(f"{stage}/{name}" for name in (*PER_CHANNEL, "loss") for stage in ("val", "test"))


@dataclass
class Run:
    path: Path
    settings: dict[str, str]  # override key -> value, filled in from the config where absent
    metrics: dict[str, Any]


def parse_overrides(lines: list[str]) -> dict[str, str]:
    """`["+a.b=1e-3", "model=wide", "~c"]` -> `{"a.b": "0.001", "model": "wide", "c": "<deleted>"}`.

    Values go through Hydra's own override parser, so `false`/`False` or `1e-3`/`0.001`
    compare equal, and read as they do in a config (`_text`).
    """
    parser = OverridesParser.create()
    parsed = {}
    for override in parser.parse_overrides([str(line) for line in lines]):
        key = override.key_or_group
        parsed[key] = "<deleted>" if override.is_delete() else _text(override.value())
    return parsed


def _text(value: Any) -> str:
    """One spelling per value: `True`, `0.001`, `[1, 2]`."""
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=False)
    return "" if value is None else str(value)


def _load_yaml(path: Path) -> Any:
    return OmegaConf.load(path) if path.is_file() else None


def _setting(key: str, config: Any, choices: dict[str, str]) -> str:
    """What a run that did not override `key` used: its group choice or its config value."""
    if key in choices:
        return str(choices[key])
    value = OmegaConf.select(config, key, default=None, throw_on_resolution_failure=False) if config else None
    return _text(value)


def latest_config_dir(run_dir: Path) -> Path:
    """`.hydra/`, or for a resumed run the newest `.hydra/resume_<n>/` saved before its
    `metrics.json`: the launch that finished it (a later launch may have failed)."""
    hydra_dir = run_dir / ".hydra"
    finished = (run_dir / "metrics.json").stat().st_mtime_ns
    resumes = [
        p
        for p in hydra_dir.glob("resume_*")
        if p.name.removeprefix("resume_").isdigit() and (p / "config.yaml").stat().st_mtime_ns <= finished
    ]
    return max(resumes, key=lambda p: int(p.name.removeprefix("resume_")), default=hydra_dir)


def _read_run(run_dir: Path) -> tuple[dict[str, str], Any, dict[str, str], dict[str, Any]]:
    """Overrides, config, group choices and metrics of one run directory."""
    hydra_dir = latest_config_dir(run_dir)
    overrides = parse_overrides(list(_load_yaml(hydra_dir / "overrides.yaml") or []))
    overrides.pop("resume", None)  # where the run continued, not a setting
    hydra_cfg = _load_yaml(hydra_dir / "hydra.yaml")
    choices = OmegaConf.select(hydra_cfg, "hydra.runtime.choices", default=None) if hydra_cfg else None
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return (
        overrides,
        _with_checkpoint(run_dir, _load_yaml(hydra_dir / "config.yaml")),
        dict(choices or {}),
        metrics,
    )


def _with_checkpoint(run_dir: Path, config: Any) -> Any:
    """The config of an evaluate or predict run, whose model and data are the checkpoint's
    (`checkpoint_hparams.json`), with those filled in: it compares as the run that trained it."""
    record = run_dir / CHECKPOINT_RECORD
    if not record.is_file():
        return config
    hparams = json.loads(record.read_text()).get("hyper_parameters", {})
    model = {key: value for key, value in hparams.items() if key != "data"}
    data = (hparams.get("data") or {}).get("data_config", {})
    return OmegaConf.merge(config or {}, {"model": model, "data": data})


def find_runs(root: Path) -> list[Run]:
    """Every run under `root` (a run dir, an `outputs/` or `multirun/` tree) with its metrics.

    Each run's settings cover every key that any run overrode, so runs compare key by key.
    """
    if not root.is_dir():
        raise InputError(f"compare_runs: no directory at {str(root)!r}")
    files = sorted(
        root.rglob("metrics.json"), key=lambda p: [_natural(part) for part in p.parts]
    )  # 2 before 10
    found = {path.parent: _read_run(path.parent) for path in files}
    if not found:
        raise InputError(f"compare_runs: no metrics.json under {str(root)!r}; point it at finished runs")
    keys = sorted({key for overrides, *_ in found.values() for key in overrides})
    runs = []
    for run_dir, (overrides, config, choices, metrics) in found.items():
        settings = {
            key: overrides[key] if key in overrides else _setting(key, config, choices) for key in keys
        }
        runs.append(Run(run_dir, settings, metrics))
    return runs


def differing_keys(runs: list[Run]) -> list[str]:
    """Override keys whose value is not the same in every run."""
    keys = sorted({key for run in runs for key in run.settings})
    return [key for key in keys if len({run.settings.get(key) for run in runs}) > 1]


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def summarize(
    runs: list[Run], root: Path, metrics: tuple[str, ...], sort_by: str, ascending: bool = False
) -> tuple[list[str], list[dict[str, Any]]]:
    """One row per configuration (runs equal up to replicate keys), sorted by `sort_by`'s mean.

    Returns the configuration keys shown and the rows: those keys, `runs` (how many),
    replicate values, `<metric> mean`/`<metric> std` (std over 2+ runs), `tags` and `dirs`.
    """
    differing = differing_keys(runs)
    config_keys = [key for key in differing if key not in REPLICATE_KEYS]
    groups: dict[tuple[str, ...], list[Run]] = {}
    for run in runs:
        groups.setdefault(tuple(run.settings[key] for key in config_keys), []).append(run)
    rows = []
    for values, members in groups.items():
        row: dict[str, Any] = dict(zip(config_keys, values, strict=True))
        row["runs"] = len(members)
        for key in REPLICATE_KEYS:
            if key in differing:
                row[key] = ",".join(sorted({run.settings[key] for run in members}, key=_natural))
        for name in metrics:
            found = [run.metrics[name] for run in members if isinstance(run.metrics.get(name), int | float)]
            row[f"{name} mean"], row[f"{name} std"] = _mean_std(found)
        tags = sorted({str(tag) for run in members for tag in run.metrics.get("tags") or []})
        row["tags"] = ",".join(tags)
        row["dirs"] = " ".join(str(run.path.relative_to(root)) for run in members)
        rows.append(row)
    key = f"{sort_by} mean"
    with_value = sorted((r for r in rows if r[key] is not None), key=lambda r: r[key], reverse=not ascending)
    return config_keys, with_value + [r for r in rows if r[key] is None]


def _natural(text: str) -> tuple[int, float | str]:
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)


def _short(text: str) -> str:
    """`0.008706020878304856` -> `0.008706`: sampled floats, readable (the CSV keeps them whole)."""
    try:
        number = float(text)
    except ValueError:
        return text
    return f"{number:.4g}" if len(text) > 8 and not number.is_integer() else text


def runs_table(rows: list[dict[str, Any]], config_keys: list[str], metrics: tuple[str, ...]) -> Table:
    table = Table(title=f"{sum(row['runs'] for row in rows)} runs, {len(rows)} configurations")
    columns = [*config_keys, "runs", *(k for k in REPLICATE_KEYS if any(k in row for row in rows))]
    for name in columns:
        table.add_column(name, overflow="fold")
    for name in metrics:
        table.add_column(name, justify="right")
    show_tags = any(row["tags"] for row in rows)
    if show_tags:
        table.add_column("tags")
    table.add_column("dirs", overflow="fold")
    for row in rows:
        cells = [_short(str(row.get(name, ""))) for name in columns]
        for name in metrics:
            mean, std = row[f"{name} mean"], row[f"{name} std"]
            cells.append("-" if mean is None else f"{mean:.4f}" + ("" if std is None else f" ± {std:.4f}"))
        table.add_row(*cells, *([row["tags"]] if show_tags else []), row["dirs"])
    return table


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path
