"""Checkpoints as inputs: checked paths, resume targets, models rebuilt from them alone."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from multiout.errors import InputError
from multiout.models.classifier import MultiOutputClassifier
from multiout.models.targets import locate
from multiout.runtime.run_dir import resume_checkpoint

log = logging.getLogger(__name__)


def checkpoint_file(ckpt_path: str, key: str = "ckpt_path") -> str:
    """The path, checked to be a file."""
    if not Path(ckpt_path).is_file():
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


def load_model(class_path: str, ckpt_path: str) -> MultiOutputClassifier:
    """Rebuild a model from its checkpoint alone, loading only tensors and plain values."""
    model_class = classifier_class(class_path)
    return model_class.load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)


def classifier_class(class_path: str) -> type[MultiOutputClassifier]:
    """`MultiOutputClassifier` or the subclass `class_path` names (`model._target_`)."""
    found = locate(class_path, "model._target_")
    if not issubclass(found, MultiOutputClassifier):
        raise InputError(f"model._target_: {class_path} must be MultiOutputClassifier or a subclass of it")
    return found


SHAPES = ("num_features", "num_channels", "num_classes")


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


def saved_hparams(ckpt_path: str) -> dict:
    """A checkpoint's hyperparameters, read without building anything from them."""
    saved = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
    return dict(saved.get("hyper_parameters", {}))
