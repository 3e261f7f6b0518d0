"""What a run took its data as: rows per split, features (numeric, categorical with their
vocabulary sizes, imputed with their share of gaps), channels and their labels, and the
columns left out. One line each at the start of a run, and `data_summary.json` for tools.

`data_summary` is a function of plain values; `summary_of` reads them from a data module's
public attributes (what `runtime/build.py` hands the model, plus split sizes and label counts);
`DataSummary`, a callback the run machinery adds, reports it when the data has been read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_only

from multiout.errors import InputError
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
    label_values: Sequence | None,
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
        # Your labels, in class-id order; None where the data has class ids only (synthetic).
        "label_values": list(label_values) if label_values is not None else None,
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
    labels = summary["label_values"]
    if labels is None:
        line = f"classes per channel: {summary['num_classes']}"
    else:
        line = "labels per channel: " + ", ".join(f"{value} -> class {i}" for i, value in enumerate(labels))
    counts = summary["train_label_counts"]
    if counts:
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


def summary_of(datamodule: Any, known: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary of a data module that has read its data (`setup` done), from its public
    attributes; what a data module does not have is left out. `known` holds attributes known
    already (a checkpoint's `categorical_features`, `imputed_features`, `channel_names`),
    which are then not asked of the data module (it would read its training split for them)."""
    known = known or {}
    splits = getattr(datamodule, "splits", None) or {}
    rows = {split: len(splits[split][0]) for split in SPLITS if split in splits}
    if not rows:  # data read as it streams: the row counts of its files
        files = getattr(datamodule, "files", None) or {}
        rows = {
            split: int(files[split].num_rows) for split in SPLITS if hasattr(files.get(split), "num_rows")
        }
    feature_names = list(getattr(datamodule, "feature_names", None) or _numbered(datamodule))
    vocabularies = _known(datamodule, "categorical_features", known) or {}
    imputed = list(_known(datamodule, "imputed_features", known) or [])
    gap_shares = None
    if imputed and "train" in splits:
        x = splits["train"][0]
        gap_shares = {
            name: x[:, feature_names.index(name)].isnan().double().mean().item() for name in imputed
        }
    counts = getattr(datamodule, "train_label_counts", None)
    columns = getattr(datamodule, "columns", None)
    return data_summary(
        rows=rows,
        feature_names=feature_names,
        vocabularies=vocabularies,
        imputed=imputed,
        gap_shares=gap_shares,
        channel_names=list(known.get("channel_names") or datamodule.channel_names),
        num_classes=int(datamodule.num_classes),
        label_values=getattr(datamodule, "label_values", None),
        train_label_counts=counts().tolist() if callable(counts) and "train" in rows else None,
        excluded_columns=list(getattr(datamodule, "exclude_columns", None) or []),
        id_column=getattr(columns, "id", None),
    )


def write_summary(summary: Mapping[str, Any], run_dir: str | Path) -> Path:
    return write_json_atomic(Path(run_dir) / SUMMARY_FILE, dict(summary))


@rank_zero_only
def report_summary(datamodule: Any, run_dir: str | Path, known: Mapping[str, Any] | None = None) -> None:
    """The summary's lines in the run's log, and `data_summary.json` in `run_dir`."""
    summary = summary_of(datamodule, known)
    for line in summary_lines(summary):
        log.info(line)
    write_summary(summary, run_dir)


class DataSummary(L.Callback):
    """Reports the summary once, when Lightning has set up the data module (it calls the data
    module's `setup` before the callbacks'), so the run reads no data twice."""

    def __init__(self, run_dir: str | Path, known: Mapping[str, Any] | None = None) -> None:
        self.run_dir = run_dir
        self.known = known
        self.reported = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if not self.reported and datamodule is not None:
            self.reported = True
            report_summary(datamodule, self.run_dir, self.known)


def _known(datamodule: Any, name: str, known: Mapping[str, Any]) -> Any:
    """`known[name]`, else the data module's attribute, or None where it cannot know it."""
    if name in known:
        return known[name]
    try:
        return getattr(datamodule, name, None)
    except InputError:
        return None


def _numbered(datamodule: Any) -> list[str]:
    """Features without names (the synthetic data): x00, x01, ..."""
    count = int(getattr(datamodule, "num_features", 0))
    return [f"x{j:02d}" for j in range(count)]


def _shortened(names: Sequence[str]) -> str:
    return ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:3])}, ..., {', '.join(names[-2:])}"
