"""What a run took its data as: rows per split, features (numeric, categorical with their
vocabulary sizes, imputed with their share of gaps), channels and their labels, and the
columns left out. One line each at the start of a run, and `data_summary.json` for tools.

`data_summary` is a function of plain values; `summary_of` takes them from the data spec (what
the model was built from) and the row counts of the data module's splits; `DataSummary`, a
callback the run machinery adds, reports it when the data has been read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_only

from multiout.data.spec import DataSpec
from multiout.runtime import storage
from multiout.runtime.atomic import write_json_atomic

log = logging.getLogger(__name__)

SUMMARY_FILE = "data_summary.json"
SPLITS = ("train", "val", "test", "predict")


def data_summary(
    *,
    rows: Mapping[str, int],
    feature_names: Sequence[str],
    vocabularies: Mapping[str, Sequence],
    imputed: Sequence[str],
    gap_shares: Mapping[str, float] | None,
    channel_names: Sequence[str],
    num_classes: int,
    label_values: Sequence[Sequence],
    train_label_counts: Sequence[Sequence[int]] | None,
    excluded_columns: Sequence[str],
    id_column: str | None,
) -> dict[str, Any]:
    """The summary as plain values (what `data_summary.json` holds)."""
    return {
        "rows": dict(rows),
        "features": {
            "numeric": [name for name in feature_names if name not in vocabularies],
            "categorical": {name: len(vocabularies[name]) for name in feature_names if name in vocabularies},
            "imputed": {name: None if gap_shares is None else gap_shares.get(name) for name in imputed},
        },
        "channels": list(channel_names),
        "num_classes": num_classes,
        # Each channel's labels, in class-id order.
        "label_values": dict(zip(channel_names, [list(v) for v in label_values], strict=True)),
        "train_label_counts": None
        if train_label_counts is None
        else dict(zip(channel_names, [list(c) for c in train_label_counts], strict=True)),
        "excluded_columns": list(excluded_columns),
        "id_column": id_column,
    }


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """One line per part of the summary, as a run logs it."""
    rows = ", ".join(f"{split} {count:,}" for split, count in summary["rows"].items())
    features = summary["features"]
    numeric, categorical, imputed = features["numeric"], features["categorical"], features["imputed"]
    kinds = [f"{len(numeric)} numeric"]
    if categorical:
        sizes = ", ".join(f"{name} {size}" for name, size in categorical.items())
        kinds.append(f"{len(categorical)} categorical (vocabulary sizes: {sizes})")
    lines = [
        f"rows: {rows or 'none read yet'}",
        f"features: {len(numeric) + len(categorical)}: {'; '.join(kinds)}",
    ]
    if imputed:
        gaps = ", ".join(name if share is None else f"{name} {share:.1%}" for name, share in imputed.items())
        lines.append(f"imputed (training median plus a missing indicator; share of gaps): {gaps}")
    channels = summary["channels"]
    lines.append(f"channels: {len(channels)} ({_shortened(channels)})")
    sets = list(summary["label_values"].values())
    if all(labels == sets[0] for labels in sets):
        line = "labels per channel: " + ", ".join(f"{value} -> class {i}" for i, value in enumerate(sets[0]))
    else:
        sizes = ", ".join(str(size) for size in sorted({len(labels) for labels in sets}))
        line = f"labels: each channel its own ({sizes} classes; data_summary.json lists them)"
    counts = summary["train_label_counts"]
    if counts and len({len(c) for c in counts.values()}) == 1:
        totals = [sum(column) for column in zip(*counts.values(), strict=True)]
        whole = sum(totals) or 1
        line += "; training shares " + " / ".join(f"{t / whole:.0%}" for t in totals)
    lines.append(line)
    if summary["excluded_columns"] or summary["id_column"]:
        excluded = ", ".join(summary["excluded_columns"]) or "none"
        lines.append(
            f"columns not used as features: excluded {excluded}; id {summary['id_column'] or 'none'}"
        )
    return lines


def summary_of(spec: DataSpec, datamodule: Any) -> dict[str, Any]:
    """The summary of the data as the model takes it (`spec`), with what only the data module
    knows: how many rows each split has (once `setup` has read them, or from the row counts of
    streamed files), the share of gaps of imputed features, and the columns left out."""
    splits = getattr(datamodule, "splits", None) or {}
    rows = {split: len(splits[split][0]) for split in SPLITS if split in splits}
    if not rows:  # data read as it streams: the row counts of its files
        files = getattr(datamodule, "files", None) or {}
        rows = {
            split: int(files[split].num_rows) for split in SPLITS if hasattr(files.get(split), "num_rows")
        }
    given, out = spec.input, spec.output
    gap_shares = None
    if given.imputed and "train" in splits:
        x = splits["train"][0].reshape(-1, given.num_features)
        gap_shares = {
            name: x[:, given.feature_names.index(name)].isnan().double().mean().item()
            for name in given.imputed
        }
    return data_summary(
        rows=rows,
        feature_names=given.feature_names,
        vocabularies=given.categorical,
        imputed=given.imputed,
        gap_shares=gap_shares,
        channel_names=out.channel_names,
        num_classes=out.num_classes,
        label_values=out.label_values,
        train_label_counts=out.label_counts if "train" in rows else None,
        excluded_columns=list(spec.data_config.get("exclude_columns") or []),
        id_column=spec.data_config.get("id_column"),
    )


def write_summary(summary: Mapping[str, Any], run_dir: str | Path) -> Path | str:
    return write_json_atomic(storage.join(str(run_dir), SUMMARY_FILE), dict(summary))


@rank_zero_only
def report_summary(spec: DataSpec, datamodule: Any, run_dir: str | Path) -> None:
    """The summary's lines in the run's log, and `data_summary.json` in `run_dir`."""
    summary = summary_of(spec, datamodule)
    for line in summary_lines(summary):
        log.info(line)
    write_summary(summary, run_dir)


class DataSummary(L.Callback):
    """Reports the summary once, when Lightning has set up the data module (it calls the data
    module's `setup` before the callbacks'), so the run reads no data twice."""

    def __init__(self, run_dir: str | Path, spec: DataSpec) -> None:
        self.run_dir = run_dir
        self.spec = spec
        self.reported = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if not self.reported and datamodule is not None:
            self.reported = True
            report_summary(self.spec, datamodule, self.run_dir)


def _shortened(names: Sequence[str]) -> str:
    return ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:3])}, ..., {', '.join(names[-2:])}"
