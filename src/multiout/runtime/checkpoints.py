"""Checkpoints as inputs: checked paths, resume targets, models rebuilt from them alone."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

from multiout.data.spec import DataSpec
from multiout.errors import InputError
from multiout.models.classifier import MultiOutputClassifier
from multiout.models.targets import locate
from multiout.runtime import storage
from multiout.runtime.run_dir import resume_checkpoint

log = logging.getLogger(__name__)


def checkpoint_file(ckpt_path: str, key: str = "ckpt_path") -> str:
    """The path (local or a URL), checked to be a file."""
    if not storage.is_file(ckpt_path):
        raise InputError(f"{key}: no checkpoint file at {ckpt_path!r}")
    return str(ckpt_path)


def existing_checkpoint(ckpt_path: str | None, key: str = "ckpt_path") -> str | None:
    """The path, checked to be a file; None stays None."""
    return None if ckpt_path is None else checkpoint_file(ckpt_path, key)


def starting_checkpoint(ckpt_path: str | None, resume: str | None, run_dir: str) -> str | None:
    """`ckpt_path` (a new run from a checkpoint), or with `resume`, the run dir's own `last.ckpt`."""
    ckpt_path = existing_checkpoint(ckpt_path)
    if resume is None:
        return ckpt_path
    if ckpt_path is not None:
        raise InputError("give ckpt_path (a new run from a checkpoint) or resume (continue a run), not both")
    ckpt_path = resume_checkpoint(resume, run_dir)
    log.info(f"resuming from {ckpt_path}" if ckpt_path else "resume=auto: no checkpoint yet, starting afresh")
    return ckpt_path


def load_model(class_path: str, ckpt_path: str, trusted_modules: Sequence[str] = ()) -> MultiOutputClassifier:
    """Rebuild a model from its checkpoint alone, loading only tensors and plain values.

    The checkpoint's hyperparameters name the classes the model builds (`net._target_`, ...):
    each must live in this package, `torch.nn` or `torch.optim`, or under one of
    `trusted_modules`, checked before anything is imported.
    """
    model_class = classifier_class(class_path)
    hparams = saved_hparams(ckpt_path)
    check_targets(hparams, ckpt_path, trusted_modules)
    DataSpec.from_dict(hparams.get("data"), f"checkpoint {ckpt_path}")  # one line for an older checkpoint
    return model_class.load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)


# Modules whose classes a checkpoint may name without being trusted by config.
ALWAYS_TRUSTED = (__name__.split(".")[0], "torch.nn", "torch.optim")


def check_targets(hparams: Any, ckpt_path: str, trusted_modules: Sequence[str] = ()) -> None:
    """Every `_target_` in a checkpoint's hyperparameters names a class of a trusted module:
    compared name by name (the package's name with a suffix is not the package), and only as an absolute path
    of identifiers (no `.x`, no `a..b`)."""
    trusted = []
    for name in (*ALWAYS_TRUSTED, *trusted_modules):
        module_parts = _dotted(str(name))
        if module_parts is None:
            raise InputError(
                f"trusted_modules: {name!r} is not a module name (identifiers joined by dots, e.g. 'mypkg.layers')"
            )
        trusted.append(module_parts)
    for target in _targets(hparams):
        parts = _dotted(target)
        if parts is None:
            raise InputError(
                f"{ckpt_path} names class {target!r}, which is not an import path (identifiers joined by dots)"
            )
        if not any(parts[: len(t)] == t for t in trusted):
            module = target.rpartition(".")[0]
            raise InputError(
                f"{ckpt_path} names class {target!r}, and loading it would import module {module!r}, "
                f"which is not trusted; if you trust it, add it to trusted_modules (e.g. 'trusted_modules=[{module}]')"
            )


def _dotted(name: str) -> tuple[str, ...] | None:
    """The parts of an absolute dotted name such as `pkg.module.Class`; None for anything else."""
    parts = tuple(name.split("."))
    return parts if all(part.isidentifier() for part in parts) else None


def _targets(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [str(value["_target_"])] if "_target_" in value else []
        return found + [t for v in value.values() for t in _targets(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _targets(v)]
    return []


def classifier_class(class_path: str) -> type[MultiOutputClassifier]:
    """`MultiOutputClassifier` or the subclass `class_path` names (`model._target_`)."""
    found = locate(class_path, "model._target_")
    if not issubclass(found, MultiOutputClassifier):
        raise InputError(f"model._target_: {class_path} must be MultiOutputClassifier or a subclass of it")
    return found


def check_same_data(ckpt_path: str, trained: DataSpec, given: DataSpec, hint: str = "") -> None:
    """The data a run continues from a checkpoint must look to the model as it did in training:
    the same example shape, features and their encoding, channels and label sets. Checked
    before anything loads the weights, so a mismatch is one clear line rather than a traceback
    from `load_state_dict`."""
    pairs = {
        "example shape": (trained.input.shape, given.input.shape),
        "features": (trained.input.feature_names, given.input.feature_names),
        "categorical features": (trained.input.categorical, given.input.categorical),
        "imputed features": (trained.input.imputed, given.input.imputed),
        "channels": (trained.output.channel_names, given.output.channel_names),
        "label values": (trained.output.label_values, given.output.label_values),
    }
    for what, (old, new) in pairs.items():
        if old != new:
            raise InputError(
                f"this run's data gives other {what} than checkpoint {ckpt_path} was trained with "
                f"({_shown(new)} against {_shown(old)})" + (f"; {hint}" if hint else "")
            )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def saved_spec(ckpt_path: str) -> DataSpec:
    """The data spec a checkpoint was trained with, read without building anything."""
    return DataSpec.from_dict(saved_hparams(ckpt_path).get("data"), f"checkpoint {ckpt_path}")


def saved_hparams(ckpt_path: str) -> dict:
    """A checkpoint's hyperparameters, read without building anything from them."""
    if storage.is_url(ckpt_path):
        with storage.open_input(ckpt_path) as f:
            saved = torch.load(f, map_location="cpu", weights_only=True)
    else:
        saved = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
    return dict(saved.get("hyper_parameters", {}))
