"""Objects from config: data, model, trainer, callbacks and loggers, with errors as `InputError`."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Sequence
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor
from omegaconf import DictConfig, OmegaConf

from multiout.data.spec import DataSpec, spec_from_batches
from multiout.errors import InputError
from multiout.models import targets
from multiout.models.classifier import MultiOutputClassifier
from multiout.models.targets import locate
from multiout.runtime.checkpoints import classifier_class

# Loggers that need a package beyond the core dependencies: class name -> (modules that
# serve it, the pyproject extra that installs one).
LOGGER_PACKAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "MLFlowLogger": (("mlflow",), "mlflow"),  # part: loggers
    "WandbLogger": (("wandb",), "wandb"),  # part: loggers
    "TensorBoardLogger": (("tensorboard", "tensorboardX"), "tensorboard"),  # part: loggers
}


def build(config: DictConfig, **kwargs: Any) -> Any:
    """`instantiate`, with mistakes in constructor arguments reported as `InputError`."""
    try:
        return instantiate(config, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, InputError):
            raise cause from None
        raise InputError(" ".join(str(err).split())) from err


def build_group(config: DictConfig | None) -> list[Any]:
    """Every object of a group such as `callbacks` or `logger` (a dict of named configs)."""
    if not config:
        return []
    return [build(node) for node in config.values() if node and "_target_" in node]


def check_logger_packages(config: DictConfig | None) -> None:
    """A chosen logger whose package is missing stops the run with the install command."""
    for name, node in (config or {}).items():
        if not node or "_target_" not in node:
            continue
        modules, extra = LOGGER_PACKAGES.get(str(node._target_).rpartition(".")[2], ((), ""))
        if modules and not any(importlib.util.find_spec(module) for module in modules):
            raise InputError(
                f"logger {name!r} needs the {modules[0]} package, which is not installed; "
                f'install it with: pip install -e ".[{extra}]"'
            )


def data_spec(datamodule: L.LightningDataModule, config: DictConfig | dict) -> DataSpec:
    """What the model learns about the data: the data module's `data_spec()`, or for one that
    offers only tensors, what one pass over its training batches shows; with the data config
    that built it, so evaluation and prediction rebuild the same pipeline."""
    if hasattr(datamodule, "data_spec"):
        spec = datamodule.data_spec()
    else:
        datamodule.setup("fit")
        spec = spec_from_batches(datamodule.train_dataloader())
    plain = config if isinstance(config, dict) else OmegaConf.to_container(config, resolve=True)
    return spec.with_config(plain)


def build_model(config: DictConfig, spec: DataSpec) -> MultiOutputClassifier:
    """The model of `config` (`_target_` and plain arguments) for the data of `spec`: the one way
    data shapes reach the model."""
    options = dict(OmegaConf.to_container(config, resolve=True))  # type: ignore[arg-type]
    classifier_class(str(options.get("_target_")))  # the template's classifier or a subclass
    return targets.build(options, "model", data=spec.to_dict())


def build_trainer(cfg: DictConfig, extra_callbacks: Sequence[L.Callback] = (), **overrides: Any) -> L.Trainer:
    """The trainer of `cfg.trainer`, with the run's `callbacks` and `logger` groups.

    `extra_callbacks` join the configured ones; `overrides` replace `cfg.trainer` arguments.
    """
    check_logger_packages(cfg.get("logger"))
    loggers = build_group(cfg.get("logger"))
    callbacks = build_group(cfg.get("callbacks"))
    if not loggers:
        # Learning rates have nowhere to go without a logger (Lightning would refuse to start).
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    return build(cfg.trainer, callbacks=[*callbacks, *extra_callbacks], logger=loggers or False, **overrides)


def data_for_checkpoint(spec: DataSpec, location: DictConfig | None, ckpt_path: str, stage: str) -> Any:
    """The data module a checkpoint was trained with, rebuilt from its data spec: the same class
    and settings, with `location` (where the data lives and how it is served: paths, batch
    size, workers; null keeps the checkpoint's) applied, set up for `stage`."""
    config = dict(spec.data_config)
    if "_target_" not in config:
        raise InputError(f"checkpoint {ckpt_path} does not say which data module trained it")
    given: dict[str, Any] = OmegaConf.to_container(location, resolve=True) if location is not None else {}  # type: ignore[assignment]
    cls = locate(config["_target_"], "data._target_")
    accepted = inspect.signature(cls).parameters
    for key, value in given.items():
        if value is None:
            continue
        if key not in config and key not in accepted:
            raise InputError(f"data.{key}: {config['_target_']}, which trained {ckpt_path}, takes no {key!r}")
        config[key] = value
    if stage == "predict":  # the predict file alone: the training files may be gone by now
        for key in ("path", "train_path", "val_path", "test_path"):
            if key in config and given.get(key) is None:
                config[key] = None
    # The spec without its data config, whose `_target_` Hydra would build too.
    extra = {"spec": spec.with_config({}).to_dict()} if "spec" in accepted else {}
    try:
        datamodule = build(OmegaConf.create(config), _convert_="all", **extra)
        datamodule.setup(stage)
    except InputError as err:
        raise InputError(f"{err} (the data as checkpoint {ckpt_path} was trained on)") from None
    return datamodule
