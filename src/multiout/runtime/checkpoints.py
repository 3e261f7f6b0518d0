"""Checkpoints as inputs: checked paths, resume targets, models rebuilt from them alone."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch

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
    check_targets(saved_hparams(ckpt_path), ckpt_path, trusted_modules)
    return model_class.load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)


# Modules whose classes a checkpoint may name without being trusted by config.
ALWAYS_TRUSTED = (__name__.split(".")[0], "torch.nn", "torch.optim")


def check_targets(hparams: Any, ckpt_path: str, trusted_modules: Sequence[str] = ()) -> None:
    """Every `_target_` in a checkpoint's hyperparameters names a class of a trusted module."""
    trusted = (*ALWAYS_TRUSTED, *trusted_modules)
    for target in _targets(hparams):
        if not any(target == t or target.startswith(f"{t}.") for t in trusted):
            module = target.rpartition(".")[0]
            raise InputError(
                f"{ckpt_path} names class {target!r}, and loading it would import module {module!r}, "
                f"which is not trusted; if you trust it, add it to trusted_modules (e.g. 'trusted_modules=[{module}]')"
            )


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


SHAPES = ("num_features", "num_channels", "num_classes")
# What else sizes the weights: categories (embedding tables) and missing indicators.
FEATURE_LAYOUT = ("categorical_features", "imputed_features")


def check_shapes(ckpt_path: str, trained: dict, given: dict, source: str, hint: str = "") -> None:
    """The shapes (`num_features`, ...) a checkpoint was trained with must be those that
    `source` (the data, this run's config) gives, checked before anything loads the weights,
    so a mismatch is one clear line rather than a traceback from `load_state_dict`."""
    for key in SHAPES:
        if given.get(key) is not None and key in trained and trained[key] != given[key]:
            raise InputError(
                f"{source} gives {key}={given[key]}, but checkpoint {ckpt_path} was trained with "
                f"{trained[key]}" + (f"; {hint}" if hint else "")
            )
    for key in FEATURE_LAYOUT:
        old, new = trained.get(key), given.get(key)
        if old is not None and new is not None and old != new:
            raise InputError(
                f"{source} gives other {key} than checkpoint {ckpt_path} was trained with (they differ "
                f"for {_differing(old, new)[:5]})" + (f"; {hint}" if hint else "")
            )


def _differing(old: dict | list, new: dict | list) -> list[str]:
    """The features whose vocabulary differs, or that only one of two layouts has."""
    if isinstance(old, dict) and isinstance(new, dict):
        return sorted(name for name in {*old, *new} if old.get(name) != new.get(name))
    return sorted({*old} ^ {*new})


def saved_hparams(ckpt_path: str) -> dict:
    """A checkpoint's hyperparameters, read without building anything from them."""
    if storage.is_url(ckpt_path):
        with storage.open_input(ckpt_path) as f:
            saved = torch.load(f, map_location="cpu", weights_only=True)
    else:
        saved = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
    return dict(saved.get("hyper_parameters", {}))
