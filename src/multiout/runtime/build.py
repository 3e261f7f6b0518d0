"""Objects from config: data, model, trainer, callbacks and loggers, with errors as `InputError`."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor
from omegaconf import DictConfig, OmegaConf

from multiout.errors import InputError
from multiout.models import targets
from multiout.models.classifier import MultiOutputClassifier
from multiout.runtime.checkpoints import classifier_class

# Loggers that need a package beyond the core dependencies: class name -> (modules that
# serve it, the pyproject extra that installs one).
LOGGER_PACKAGES = {
    "MLFlowLogger": (("mlflow",), "mlflow"),
    "WandbLogger": (("wandb",), "wandb"),
    "TensorBoardLogger": (("tensorboard", "tensorboardX"), "tensorboard"),
}

# What a data module knows about the data that the model is built with: its shapes and names.
DATA_TO_MODEL = (
    "num_features",
    "num_channels",
    "num_classes",
    "channel_names",
    "feature_names",
    "label_values",
    "categorical_features",
    "imputed_features",
)


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


def build_model(config: DictConfig, datamodule: L.LightningDataModule) -> MultiOutputClassifier:
    """The model of `config` (`_target_` and plain arguments), with the shapes and names the
    data module knows: the one way data shapes reach the model."""
    from_data = {key: getattr(datamodule, key) for key in DATA_TO_MODEL if hasattr(datamodule, key)}
    options = dict(OmegaConf.to_container(config, resolve=True))  # type: ignore[arg-type]
    classifier_class(str(options.get("_target_")))  # the template's classifier or a subclass
    return targets.build(options, "model", **from_data)


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


# Data config keys that, at evaluation and prediction, take the checkpoint's values.
FROM_CHECKPOINT = {
    "feature_columns": "feature_names",
    "target_columns": "channel_names",
    "label_values": "label_values",
    "ignore_index": "ignore_index",
    "vocabularies": "categorical_features",
}


def data_for_checkpoint(
    config: DictConfig, model: L.LightningModule, ckpt_path: str, stage: str
) -> L.LightningDataModule:
    """The data module, reading (for `stage`) the columns and label values the checkpoint was
    trained on."""
    hparams = model.hparams
    from_ckpt = {
        key: list(value) if isinstance(value, list | tuple) else value
        for key, name in FROM_CHECKPOINT.items()
        if key in config and hparams.get("feature_names") and (value := hparams.get(name)) is not None
    }
    try:
        datamodule = build(config, **from_ckpt)
        datamodule.setup(stage)
        return datamodule
    except InputError as err:
        if not from_ckpt:
            raise
        raise InputError(
            f"{err} (columns and label values as checkpoint {ckpt_path} was trained on)"
        ) from None
