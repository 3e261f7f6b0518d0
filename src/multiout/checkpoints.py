"""Checkpoints as inputs: checked paths, resume targets, models rebuilt from them alone."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch

from multiout.class_path import import_class
from multiout.errors import InputError
from multiout.run_dir import resume_checkpoint

log = logging.getLogger(__name__)


def existing_checkpoint(ckpt_path: str | None, key: str = "ckpt_path") -> str | None:
    """The path, checked to be a file; None stays None."""
    if ckpt_path is None:
        return None
    if not Path(ckpt_path).is_file():
        raise InputError(f"{key}: no checkpoint file at {ckpt_path!r}")
    return str(ckpt_path)


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


def load_model(class_path: str, ckpt_path: str) -> L.LightningModule:
    """Rebuild a model from its checkpoint alone, loading only tensors and plain values."""
    model_class: Callable[..., L.LightningModule] = import_class(class_path, "model._target_")
    return model_class.load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)


def check_matches_checkpoint(
    datamodule: L.LightningDataModule, model: L.LightningModule, ckpt_path: str, keys: tuple[str, ...]
) -> None:
    """The data's shape (`keys`: num_features, ...) must be the one the model was trained on."""
    for key in keys:
        data_value, model_value = getattr(datamodule, key, None), model.hparams.get(key)
        if data_value is not None and data_value != model_value:
            raise InputError(
                f"the data has {key}={data_value}, but checkpoint {ckpt_path} was trained with {model_value}"
            )


def check_checkpoint_fits(ckpt_path: str, model: L.LightningModule, why: str) -> None:
    """A checkpoint to continue from must have the shapes of the model this config builds;
    checked before Lightning loads it, so a mismatch is one clear line, not a traceback."""
    saved = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
    hparams = saved.get("hyper_parameters", {})
    for key in ("num_features", "num_channels", "num_classes"):
        if key in hparams and hparams[key] != model.hparams.get(key):
            raise InputError(
                f"{ckpt_path} was trained with {key}={hparams[key]}, but this run's config gives "
                f"{model.hparams.get(key)}; {why}"
            )
