"""The data spec: everything the model, evaluate.py, predict.py, export and the baselines learn
about the data, in one plain object.

A data module produces it once its training split is known (`data_spec()`); the model is built
from it alone and keeps it in its checkpoint as plain values (`weights_only=True` loads it), so
a checkpoint says what it was trained on: the shape of one example, the features and their
encoding, each output channel's labels in class order, and the data config that read them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from multiout.errors import InputError
from multiout.metrics.per_channel import default_channel_names

STATISTICS = ("mean", "std", "median")


@dataclass(frozen=True)
class InputSpec:
    """One example `x`: its `shape` (`[F]` for a table row, `[L, F]` for a window, any other
    shape), the names along its last dimension, and how the tabular encoder treats them.

    `categorical` maps a feature to its vocabulary (entry `i` is index `i + 1` in `x`, 0 is
    unseen); `imputed` lists the numeric features that get a missing indicator; `statistics`
    holds the training split's `mean`, `std` and `median` per feature. Without statistics the
    model reads `x` as it comes (the plain encoder)."""

    shape: list[int]
    feature_names: list[str]
    categorical: dict[str, list] = field(default_factory=dict)
    imputed: list[str] = field(default_factory=list)
    statistics: dict[str, list[float]] | None = None

    @property
    def num_features(self) -> int:
        return self.shape[-1]

    @property
    def tabular(self) -> bool:
        """Whether the tabular encoder (standardize, impute, embed) reads this input."""
        return self.statistics is not None


@dataclass(frozen=True)
class OutputSpec:
    """The channels: their names, each one's labels in class order (class id `k` is
    `label_values[c][k]`), the training split's count of each class, and the class id that
    marks a missing label."""

    channel_names: list[str]
    label_values: list[list]
    label_counts: list[list[int]] | None = None
    ignore_index: int = -100

    @property
    def num_channels(self) -> int:
        return len(self.channel_names)

    @property
    def num_classes(self) -> int:
        """K of the logits `[B, K, C]`: the largest label set; a channel with fewer classes
        has no probability for the rest."""
        return max(len(values) for values in self.label_values)

    @property
    def shared_labels(self) -> list | None:
        """The label set every channel has, or None where channels differ."""
        first = self.label_values[0]
        return list(first) if all(values == first for values in self.label_values) else None


@dataclass(frozen=True)
class DataSpec:
    """What a data module hands over: input, outputs, and the data config (`_target_` and
    keys) that rebuilds the same pipeline at evaluation and prediction."""

    input: InputSpec
    output: OutputSpec
    data_config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain values only: what a checkpoint stores."""
        return asdict(self)

    @classmethod
    def from_dict(cls, value: Any, source: str = "data spec") -> DataSpec:
        """A spec from plain values, checked: a checkpoint is untrusted input."""
        if isinstance(value, DataSpec):
            return value
        if not isinstance(value, Mapping) or not {"input", "output"} <= set(value):
            raise InputError(
                f"{source}: no data spec (a checkpoint from before the data spec was stored in "
                f"checkpoints cannot be read; retrain it with this version)"
            )
        spec = cls(
            input=InputSpec(**_fields(value["input"], InputSpec, source)),
            output=OutputSpec(**_fields(value["output"], OutputSpec, source)),
            data_config=dict(value.get("data_config") or {}),
        )
        check_spec(spec, source)
        return spec

    def with_config(self, data_config: Mapping[str, Any]) -> DataSpec:
        return DataSpec(self.input, self.output, dict(data_config))


def _fields(value: Any, kind: type, source: str) -> dict[str, Any]:
    names = set(kind.__dataclass_fields__)  # type: ignore[attr-defined]
    if not isinstance(value, Mapping) or not set(value) <= names:
        raise InputError(f"{source}: malformed data spec ({kind.__name__} takes {sorted(names)})")
    return dict(value)


def check_spec(spec: DataSpec, source: str) -> None:
    """Every part agrees with every other: one clear line instead of a shape error later."""
    given, out = spec.input, spec.output

    def fail(what: str) -> None:
        raise InputError(f"{source}: {what}")

    if not given.shape or not all(isinstance(n, int) and n > 0 for n in given.shape):
        fail(f"input shape must list positive sizes, got {given.shape}")
    if len(given.feature_names) != given.num_features:
        fail(f"{len(given.feature_names)} feature names for {given.num_features} features")
    unknown = [name for name in [*given.categorical, *given.imputed] if name not in given.feature_names]
    if unknown:
        fail(f"features {unknown} are not among the feature names")
    stats = given.statistics
    if stats is not None and (
        set(stats) != set(STATISTICS)
        or any(len(v) != given.num_features or not all(map(math.isfinite, v)) for v in stats.values())
    ):
        fail(f"statistics must hold {list(STATISTICS)}, {given.num_features} finite numbers each")
    if not out.channel_names or len(out.label_values) != out.num_channels:
        fail(f"{len(out.label_values)} label sets for {out.num_channels} channels")
    for name, values in zip(out.channel_names, out.label_values, strict=True):
        if len(values) < 2 or len(set(map(repr, values))) != len(values):
            fail(f"channel {name!r} needs at least two distinct labels, got {values}")
    if 0 <= out.ignore_index < out.num_classes:
        fail(f"ignore_index={out.ignore_index} collides with class id {out.ignore_index}; use -100")
    if out.label_counts is not None and [len(c) for c in out.label_counts] != [
        len(v) for v in out.label_values
    ]:
        fail("label counts must give one count per label of each channel")


def per_channel(label_values: Sequence, num_channels: int) -> list[list]:
    """One label set per channel from a shared list."""
    return [list(label_values) for _ in range(num_channels)]


def table_spec(
    feature_names: Sequence[str],
    categorical: Mapping[str, list],
    imputed: Sequence[str],
    statistics: Sequence[Tensor],
    channel_names: Sequence[str],
    label_values: Sequence[Sequence],
    label_counts: Tensor,
    ignore_index: int,
    example_shape: Sequence[int] | None = None,
) -> DataSpec:
    """The spec of table rows (or windows of them, `example_shape` `[L, F]`): features read by
    the tabular encoder with the training split's `statistics` (mean, std, median `[F]`)."""
    features = list(feature_names)
    return DataSpec(
        input=InputSpec(
            shape=list(example_shape or [len(features)]),
            feature_names=features,
            categorical={name: list(vocab) for name, vocab in categorical.items()},
            imputed=list(imputed),
            statistics={key: t.tolist() for key, t in zip(STATISTICS, statistics, strict=True)},
        ),
        output=OutputSpec(
            channel_names=list(channel_names),
            label_values=[list(values) for values in label_values],
            label_counts=[
                row[: len(values)] for row, values in zip(label_counts.tolist(), label_values, strict=True)
            ],
            ignore_index=ignore_index,
        ),
    )


def spec_from_batches(batches: Iterable[Sequence[Tensor]], ignore_index: int = -100) -> DataSpec:
    """The spec of a data module that offers only tensors: one pass over its training batches
    `(x, y)` gives the example shape, the channels, and the classes (ids 0 to the largest
    seen), with default names."""
    shape: list[int] = []
    counts: Tensor | None = None
    for x, y, *_ in batches:
        shape = list(x.shape[1:])
        labelled = y[y != ignore_index]
        num_classes = max(2, int(labelled.max()) + 1 if labelled.numel() else 2)
        batch_counts = torch.stack([(y == k).sum(dim=0) for k in range(num_classes)], dim=1)
        if counts is None:
            counts = batch_counts
        else:
            width = max(counts.shape[1], num_classes)
            counts = _widen(counts, width) + _widen(batch_counts, width)
    if counts is None:
        raise InputError("data: the training loader gave no batches to learn the data's shape from")
    num_channels, num_classes = counts.shape
    return DataSpec(
        InputSpec(shape=shape, feature_names=[f"x{j}" for j in range(shape[-1])]),
        OutputSpec(
            default_channel_names(num_channels),
            per_channel(range(num_classes), num_channels),
            counts.tolist(),
            ignore_index,
        ),
    )


def _widen(counts: Tensor, width: int) -> Tensor:
    return torch.nn.functional.pad(counts, (0, width - counts.shape[1]))
