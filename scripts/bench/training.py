"""Training throughput: the template's `Trainer.fit` against a hand-written loop.

Both train the default model on the same in-memory training split with the same optimizer
and schedule; the template also runs its per-step metrics and logging, its data loader and
Lightning's loop. An epoch's time runs from its start to the next epoch's start (so the
template's epoch-end logging counts); the first epoch is warm-up (and compilation) and is
not counted.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from bench.timing import median
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf, open_dict

from multiout.models.classifier import MultiOutputClassifier
from multiout.models.schedules import build_optimizer, build_scheduler
from multiout.runtime.build import build, build_model, build_trainer, data_spec

# The template's training loop as a user runs it, minus what needs a validation loop
# (checkpointing on val/acc, early stopping) and the terminal output (progress bar, summary).
BENCH_OVERRIDES = [
    "callbacks.model_checkpoint=null",
    "callbacks.early_stopping=null",
    "callbacks.rich_progress_bar=null",
    "callbacks.rich_model_summary=null",
]


def compose_train_config(conf_dir: Path, output_dir: Path, overrides: list[str]) -> DictConfig:
    """The template's `train.yaml` with `overrides`, writing into `output_dir`."""
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _now() -> tuple[float, float]:
    """Wall time, and this process's CPU time (what other tenants of the machine cannot inflate)."""
    return time.perf_counter(), time.process_time()


def _rates(samples: int, marks: list[tuple[float, float]]) -> dict[str, float]:
    # Both loops also report what they trained (samples an epoch, optimizer steps, the last
    # learning rate), so a test can check that they ran the same setup.
    """Samples per second by wall and by CPU time: median over the epochs after the first."""
    wall = [b[0] - a[0] for a, b in itertools.pairwise(marks)][1:]
    cpu = [b[1] - a[1] for a, b in itertools.pairwise(marks)][1:]
    return {"wall": samples / median(wall), "cpu": samples / median(cpu)}


class EpochClock(L.Callback):
    """Wall and CPU time at every training epoch's start, and at the end of training."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, float]] = []

    def _mark(self, pl_module: L.LightningModule) -> None:
        _synchronize(pl_module.device)
        self.marks.append(_now())

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._mark(pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._mark(pl_module)


class BareClassifier(MultiOutputClassifier):
    """The template's model with nothing but forward and loss in its training step."""

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return self.loss(self(x), y)[0]

    def on_train_epoch_end(self) -> None:
        pass


# part: speed
class WithoutLeanHooks(MultiOutputClassifier):
    """The template's model with `runtime/speed.py:LeanHooks` taken out: Lightning's own `log`,
    `log_dict` and `nn.Module.__setattr__`."""

    __setattr__ = torch.nn.Module.__setattr__
    log = L.LightningModule.log  # type: ignore[assignment]
    log_dict = L.LightningModule.log_dict  # type: ignore[assignment]


class ShippedLightning(BareClassifier):
    """`BareClassifier` on Lightning as it ships: Lightning's own `nn.Module.__setattr__`, and
    no `runtime/speed.py` patch installed when the fit starts."""

    __setattr__ = torch.nn.Module.__setattr__
    on_fit_start = L.LightningModule.on_fit_start


def shipped_lightning_samples_per_s(cfg: DictConfig) -> dict[str, float]:
    """Lightning's loop alone as Lightning ships it: `BareClassifier` without any trick of
    `runtime/speed.py`, Lightning's own profiler and hook dispatch, and its own conversions of
    logged values (undoing the process-wide patches an earlier template fit installed)."""
    from lightning.fabric.utilities.apply_func import convert_tensors_to_scalars
    from lightning.pytorch.trainer import call
    from lightning.pytorch.trainer.connectors.logger_connector import logger_connector, result

    from multiout.runtime import speed

    call._call_callback_hooks = speed._LIGHTNING_CALLBACK_HOOKS
    for module in (result, logger_connector):
        module.convert_tensors_to_scalars = convert_tensors_to_scalars  # type: ignore[attr-defined]
    return template_samples_per_s(cfg, bare=True, model_class=f"{__name__}.ShippedLightning", profiler=None)


# end part


def template_samples_per_s(
    cfg: DictConfig, bare: bool = False, model_class: str | None = None, **trainer_options: Any
) -> dict[str, float]:
    """Samples per second of `Trainer.fit` (see `_rates`).

    `bare=True` measures Lightning's own loop: no per-step metrics, no logger, no callbacks.
    `model_class` replaces the model's class (an import path), e.g. to measure without a trick;
    `trainer_options` replace the Trainer's arguments.
    """
    L.seed_everything(cfg.seed, verbose=False)
    datamodule = build(cfg.data)
    model_class = model_class or (f"{__name__}.BareClassifier" if bare else None)
    model_cfg = OmegaConf.merge(cfg.model, {"_target_": model_class}) if model_class else cfg.model
    model = build_model(model_cfg, data_spec(datamodule, cfg.data))
    clock = EpochClock()
    untimed = {
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,  # checkpoints follow validation, which is not timed here
        "limit_val_batches": 0,
        "num_sanity_val_steps": 0,
        **trainer_options,
    }
    if bare:
        trainer = build(cfg.trainer, callbacks=[clock], logger=False, **untimed)
    else:
        trainer = build_trainer(cfg, extra_callbacks=[clock], **untimed)
    trainer.fit(model, datamodule=datamodule)
    setup = {"samples": train_rows(datamodule), "steps": trainer.global_step,
             "last_lr": trainer.optimizers[0].param_groups[0]["lr"]}  # fmt: skip
    return {**_rates(setup["samples"], clock.marks), **setup}


def train_rows(datamodule: L.LightningDataModule) -> int:
    """Rows of the training split: held in memory, or in the files a streaming module reads."""
    if "train" in getattr(datamodule, "splits", {}):
        return len(datamodule.splits["train"][0])
    return datamodule.files["train"].num_rows


@contextlib.contextmanager
def _autocast(device: torch.device, precision: str) -> Iterator[None]:
    if precision == "bf16-mixed":
        with torch.autocast(device.type, dtype=torch.bfloat16):
            yield
    elif precision == "32-true":
        yield
    else:
        raise ValueError(f"the raw loop supports 32-true and bf16-mixed, not {precision}")


def raw_loop_samples_per_s(cfg: DictConfig, device: str = "cpu", resident: bool = False) -> dict[str, float]:
    """The same model, optimizer and schedule in a plain PyTorch loop over shuffled slices;
    `resident`: the training tensors and each epoch's order on `device`, batches gathered there."""
    L.seed_everything(cfg.seed, verbose=False)
    device_ = torch.device(device)
    datamodule = build(cfg.data)
    datamodule.setup("fit")
    x, y = datamodule.splits["train"]
    if resident:
        x, y = x.to(device_), y.to(device_)
    spec = data_spec(datamodule, cfg.data)
    model = build_model(cfg.model, spec).to(device_).train()  # forward only: a plain nn.Module
    batch_size, epochs = cfg.data.batch_size, cfg.trainer.max_epochs
    steps = -(-len(x) // batch_size)
    optimizer = build_optimizer(model.hparams.optimizer, model.parameters())
    schedule = build_scheduler(model.hparams.scheduler, optimizer, steps * epochs)
    generator = torch.Generator().manual_seed(cfg.seed)
    marks = []
    for _ in range(epochs):
        _synchronize(device_)
        marks.append(_now())
        order = torch.randperm(len(x), generator=generator).to(x.device)
        for idx in order.split(batch_size):
            # index_select: the fastest row gather on CPU, about 3x `x[idx]`
            xb = x.index_select(0, idx).to(device_, non_blocking=True)
            yb = y.index_select(0, idx).to(device_, non_blocking=True)
            with _autocast(device_, cfg.trainer.precision):
                loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule["scheduler"].step()
    _synchronize(device_)
    marks.append(_now())
    setup = {"samples": len(x), "steps": steps * epochs, "last_lr": optimizer.param_groups[0]["lr"]}
    return {**_rates(len(x), marks), **setup}
