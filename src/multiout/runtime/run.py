"""What the root scripts run: config in, objects built, task called, results written."""

from __future__ import annotations

import logging
import shlex
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import WandbLogger  # part: loggers
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from multiout.callbacks.prediction_writer import PredictionCSVWriter
from multiout.errors import InputError, exit_on_input_error
from multiout.runtime import storage
from multiout.runtime.atomic import write_json_atomic
from multiout.runtime.budget import apply_budget
from multiout.runtime.build import build, build_model, build_trainer, data_for_checkpoint, data_spec
from multiout.runtime.checkpoints import (
    check_same_data,
    checkpoint_file,
    load_model,
    saved_spec,
    starting_checkpoint,
)
from multiout.runtime.cpu_threads import (
    apply_cpu_threads,
    processes_on_this_machine,
    threads_per_process,
    usable_cores,
)
from multiout.runtime.data_summary import DataSummary
from multiout.runtime.distributed import distributed_job
from multiout.runtime.faults.non_finite_loss import NonFiniteLossError  # part: faults
from multiout.runtime.resolvers import register_resolvers
from multiout.runtime.run_dir import CHECKPOINT_RECORD
from multiout.runtime.run_log import run_log
from multiout.runtime.startup import print_start
from multiout.tasks.evaluate import evaluate
from multiout.tasks.predict import predict
from multiout.tasks.summary import log_summary
from multiout.tasks.train import train

log = logging.getLogger(__name__)


# Before Hydra composes a config that uses them.
register_resolvers()


@contextmanager
def exit_on_training_fault(run_dir: str) -> Iterator[None]:
    """SIGTERM exits 143, printing the command that continues the run from its last.ckpt."""
    try:
        yield
    # part: faults
    except NonFiniteLossError as err:  # a diverged loss: one line, exit 3
        print(f"error: {err}; checkpoints in {run_dir} predate it", file=sys.stderr)
        sys.exit(3)
    # end part
    except SIGTERMException:
        log.warning(f"stopped by SIGTERM; continue with: {resume_command(run_dir)}")
        sys.exit(128 + signal.SIGTERM)


# Overrides a resume replaces: it continues in its run dir, from that dir's last.ckpt. Hydra's
# own overrides (`hydra.*`) are kept but for the run dir, the mode Hydra records itself and
# what DDP ranks are started with.
NOT_REPEATED_ON_RESUME = (
    "resume", "ckpt_path", "hydra.run.dir", "hydra.mode", "hydra.job.name", "hydra.output_subdir",
)  # fmt: skip


def resume_command(run_dir: str) -> str:
    """`python train.py` with this launch's overrides and `resume=<run_dir>`: the same world
    size, data and schedule, which a mid-epoch resume needs to continue where it stopped."""
    overrides = []
    if HydraConfig.initialized():
        hydra_cfg = HydraConfig.get()
        overrides = [*hydra_cfg.overrides.task, *hydra_cfg.overrides.hydra]
    kept = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in NOT_REPEATED_ON_RESUME]
    return shlex.join(["python", "train.py", *kept, f"resume={run_dir}"])


def _report(trainer: L.Trainer, output_dir: str, metrics: dict[str, Any]) -> None:
    """Summary lines and `metrics.json`, from the first process only."""
    if trainer.is_global_zero:
        log_summary(metrics)
        path = write_json_atomic(storage.join(output_dir, "metrics.json"), metrics)
        log.info(f"metrics written to {path}")


def run_train(cfg: DictConfig) -> float | None:
    """`python train.py`: build data, model, callbacks, loggers and trainer; fit; test."""
    output_dir = cfg.paths.output_dir
    with (
        exit_on_input_error(),
        exit_on_training_fault(output_dir),
        storage.exit_on_store_error(),
        distributed_job(cfg) as job,
        run_log(),
    ):
        print_start(cfg, output_dir)
        _set_cpu_threads(cfg)
        ckpt_path = starting_checkpoint(cfg.ckpt_path, cfg.resume, output_dir)
        L.seed_everything(cfg.seed, workers=True)
        datamodule = build(cfg.data)
        spec = data_spec(datamodule, cfg.data)
        if ckpt_path is not None:
            hint = "give the data overrides it was trained with"
            check_same_data(ckpt_path, saved_spec(ckpt_path), spec, hint)
        model = build_model(cfg.model, spec)
        trainer = job.track(build_trainer(cfg, [DataSummary(output_dir, spec)]))
        apply_budget(trainer, datamodule, spec, cfg.get("budget"))
        check_remote_outputs(trainer, output_dir)
        run_info = {"seed": cfg.seed, "tags": _tags(cfg)}
        _log_run_info(trainer, run_info)
        metrics = train(trainer, model, datamodule, ckpt_path=ckpt_path, fit=cfg.train, test=cfg.test)
        metrics.update(run_info)
        _finish_loggers(trainer)  # part: loggers
        _report(trainer, output_dir, metrics)
        return _objective(metrics, cfg.optimized_metric)


def run_evaluate(cfg: DictConfig) -> None:
    """`python evaluate.py ckpt_path=...`: test a checkpoint and write its metrics."""
    with exit_on_input_error(), storage.exit_on_store_error(), distributed_job(cfg) as job, run_log():
        print_start(cfg, cfg.paths.output_dir)
        _set_cpu_threads(cfg)
        ckpt_path = checkpoint_file(cfg.ckpt_path)
        model = load_model(cfg.model._target_, ckpt_path, cfg.trusted_modules)
        datamodule = data_for_checkpoint(model.spec, cfg.get("data"), ckpt_path, "test")
        _record_checkpoint(cfg.paths.output_dir, ckpt_path, model)
        trainer = job.track(build_trainer(cfg, [DataSummary(cfg.paths.output_dir, model.spec)]))
        run_info = {"tags": _tags(cfg)}
        _log_run_info(trainer, run_info)
        metrics = {**evaluate(trainer, model, datamodule, ckpt_path), **run_info}
        _finish_loggers(trainer)  # part: loggers
        _report(trainer, cfg.paths.output_dir, metrics)


def run_predict(cfg: DictConfig) -> None:
    """`python predict.py ckpt_path=... data.predict_path=...`: write `predictions.csv`."""
    with exit_on_input_error(), storage.exit_on_store_error(), distributed_job(cfg) as job, run_log():
        print_start(cfg, cfg.paths.output_dir)
        _set_cpu_threads(cfg)
        ckpt_path = checkpoint_file(cfg.ckpt_path)
        model = load_model(cfg.model._target_, ckpt_path, cfg.trusted_modules)
        datamodule = data_for_checkpoint(model.spec, cfg.get("data"), ckpt_path, "predict")
        _record_checkpoint(cfg.paths.output_dir, ckpt_path, model)
        writer = PredictionCSVWriter(
            cfg.predictions_file,
            channel_names=model.spec.output.channel_names,
            label_values=model.spec.output.label_values,
            ids=getattr(datamodule, "predict_ids", None),
            id_column=cfg.data.get("id_column") or model.spec.data_config.get("id_column"),
            save_probabilities=cfg.save_probabilities,
        )
        summary = DataSummary(cfg.paths.output_dir, model.spec)
        trainer = job.track(build(cfg.trainer, callbacks=[writer, summary], logger=False))
        predict(trainer, model, datamodule)
        if trainer.is_global_zero:
            log.info(f"{writer.rows_written} rows of predictions written to {cfg.predictions_file}")


def check_remote_outputs(trainer: L.Trainer, output_dir: str) -> None:
    """Every remote dir the run will write to (the output dir, each callback's `dirpath`) takes a
    probe write now, so a bucket that refuses writes stops the run before training."""
    dirs = {str(output_dir): "paths.output_dir"}
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if dirpath := getattr(callback, "dirpath", None):
            dirs.setdefault(str(dirpath), f"the dirpath of {type(callback).__name__}")
    for where, key in dirs.items():
        if storage.is_url(where):
            storage.check_writable(where, key)


def _set_cpu_threads(cfg: DictConfig) -> None:
    """torch's threads in this process (and the DDP processes it starts): `cpu_threads`, or
    with `auto` this machine's usable cores shared among the run's processes on it."""
    launcher = HydraConfig.get().launcher if HydraConfig.initialized() else {}
    trainer = cfg.get("trainer") or {}
    processes = processes_on_this_machine(
        trainer.get("strategy"), trainer.get("devices"), launcher.get("_target_"), launcher.get("n_jobs")
    )
    setting = cfg.get("cpu_threads", "auto")
    threads = threads_per_process(setting, processes)
    apply_cpu_threads(threads)
    how = (
        f"{usable_cores()} usable cores / {processes} process(es) on this machine"
        if setting == "auto"
        else "set"
    )
    log.info(f"cpu threads: {threads} per process ({how}; cpu_threads={setting})")


@rank_zero_only
def _record_checkpoint(output_dir: str, ckpt_path: str, model: L.LightningModule) -> None:
    """What ran, beside the run's config (which names only the model's class): the checkpoint
    and the hyperparameters the model was rebuilt from."""
    record = {"ckpt_path": ckpt_path, "hyper_parameters": dict(model.hparams)}
    write_json_atomic(storage.join(output_dir, CHECKPOINT_RECORD), record)


def _tags(cfg: DictConfig) -> list[str]:
    tags = cfg.tags
    if tags is None:
        return []
    if not OmegaConf.is_list(tags):
        raise InputError(f"tags must be a list such as tags=[baseline,wide], got {tags!r}")
    return [str(tag) for tag in tags]


def _log_run_info(trainer: L.Trainer, info: dict[str, Any]) -> None:
    """Seed and tags next to the model's hyperparameters in every logger."""
    for logger in trainer.loggers:
        logger.log_hyperparams(info)


# part: loggers
def _finish_loggers(trainer: L.Trainer) -> None:
    """Close a W&B run, so the next job of a multirun starts its own instead of reusing it."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger) and trainer.is_global_zero:
            logger.experiment.finish()


# end part


def _objective(metrics: dict[str, Any], name: str | None) -> float | None:
    """The value a hyperparameter sweep optimizes, if one is configured."""
    if name is None:
        return None
    if name not in metrics:
        raise InputError(f"optimized_metric: {name!r} is not among the run's metrics {sorted(metrics)}")
    return metrics[name]
