"""What the root scripts run: config in, objects built, task called, results written."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import get_class
from omegaconf import DictConfig

from multiout.building import build, build_model, build_trainer
from multiout.distributed import distributed_job
from multiout.errors import InputError
from multiout.outputs import write_json_atomic
from multiout.tasks.evaluate import evaluate
from multiout.tasks.results import log_summary
from multiout.tasks.train import train

log = logging.getLogger(__name__)


@contextmanager
def exit_on_input_error() -> Iterator[None]:
    """A user mistake ends the program with one line on stderr and exit code 2."""
    try:
        yield
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


def existing_checkpoint(ckpt_path: str | None, key: str = "ckpt_path") -> str | None:
    if ckpt_path is None:
        return None
    if not Path(ckpt_path).is_file():
        raise InputError(f"{key}: no checkpoint file at {ckpt_path!r}")
    return str(ckpt_path)


def _report(trainer: L.Trainer, output_dir: str, metrics: dict[str, Any]) -> None:
    """Summary lines and `metrics.json`, from the first process only."""
    if trainer.is_global_zero:
        log_summary(metrics)
        path = write_json_atomic(Path(output_dir) / "metrics.json", metrics)
        log.info(f"metrics written to {path}")


def run_train(cfg: DictConfig) -> float | None:
    """`python train.py`: build data, model, callbacks, loggers and trainer; fit; test."""
    with exit_on_input_error(), distributed_job(cfg) as job:
        ckpt_path = existing_checkpoint(cfg.get("ckpt_path"))
        L.seed_everything(cfg.seed, workers=True)
        datamodule = build(cfg.data)
        model = build_model(cfg.model, datamodule)
        trainer = job.track(build_trainer(cfg))
        metrics = train(trainer, model, datamodule, ckpt_path=ckpt_path, fit=cfg.train, test=cfg.test)
        metrics["seed"] = cfg.seed
        _report(trainer, cfg.paths.output_dir, metrics)
        return _objective(metrics, cfg.get("optimized_metric"))


def run_evaluate(cfg: DictConfig) -> None:
    """`python evaluate.py ckpt_path=...`: test a checkpoint and write its metrics."""
    with exit_on_input_error(), distributed_job(cfg) as job:
        ckpt_path = existing_checkpoint(cfg.ckpt_path)
        datamodule = build(cfg.data)
        model = load_model(cfg.model._target_, ckpt_path)
        trainer = job.track(build_trainer(cfg))
        metrics = evaluate(trainer, model, datamodule, ckpt_path)
        _report(trainer, cfg.paths.output_dir, metrics)


def load_model(class_path: str, ckpt_path: str) -> L.LightningModule:
    """Rebuild a model from its checkpoint alone, loading only tensors and plain values."""
    model_class: Callable[..., L.LightningModule] = get_class(class_path)
    return model_class.load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)


def _objective(metrics: dict[str, Any], name: str | None) -> float | None:
    """The value a hyperparameter sweep optimizes, if one is configured."""
    if name is None:
        return None
    if name not in metrics:
        raise InputError(f"optimized_metric: {name!r} is not among the run's metrics {sorted(metrics)}")
    return metrics[name]
