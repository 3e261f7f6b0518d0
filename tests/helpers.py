"""Test helpers: a small model, a quiet trainer, and running the root scripts as a user would
(or inside the test process)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import random
import runpy
import subprocess
import sys
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig
from torch.utils.data import DataLoader, TensorDataset

from multiout.data.spec import DataSpec, InputSpec, OutputSpec
from multiout.data.tensor_datamodule import TensorDataModule
from multiout.models.classifier import MultiOutputClassifier

REPO_ROOT = Path(__file__).resolve().parents[1]

# Small, fast data for end-to-end runs; every test can override further.
SMALL_DATA = ["data.num_samples=2000", "data.batch_size=64"]


def spec_dict(
    num_features: int = 6,
    num_channels: int = 4,
    num_classes: int = 3,
    shape: list[int] | None = None,
    label_values: list | None = None,
    label_counts: list[list[int]] | None = None,
    **tabular: object,
) -> dict:
    """A data spec as a checkpoint holds it: examples of `shape` (default `[num_features]`),
    channels with class ids 0..K-1 (or `label_values`). Any of `feature_names`,
    `categorical`, `imputed`, `statistics` (default: mean 0, std 1, median 0) makes the input
    tabular."""
    names = tabular.pop("feature_names", None)
    shape = shape or [len(names) if names else num_features]  # type: ignore[arg-type]
    names = names or [f"x{j}" for j in range(shape[-1])]
    statistics = None
    if tabular:
        zeros, ones = [0.0] * shape[-1], [1.0] * shape[-1]
        statistics = tabular.pop("statistics", None) or {"mean": zeros, "std": ones, "median": zeros}
    labels = label_values or list(range(num_classes))
    spec = DataSpec(
        InputSpec(shape, names, statistics=statistics, **tabular),  # type: ignore[arg-type]
        OutputSpec(
            [f"ch{c:02d}" for c in range(num_channels)],
            [list(labels)] * num_channels,
            label_counts or [[1] * len(labels)] * num_channels,
        ),
    )
    return spec.to_dict()


def small_classifier(
    num_features: int = 6, num_channels: int = 4, num_classes: int = 3, **overrides
) -> MultiOutputClassifier:
    """A 3-class model with one hidden layer of 8: fast enough to fit inside a unit test."""
    kwargs = {
        "data": spec_dict(num_features, num_channels, num_classes),
        "net": {"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [8]},
        "optimizer": {"_target_": "torch.optim.AdamW", "lr": 1e-3},
    }
    return MultiOutputClassifier(**{**kwargs, **overrides})


def quiet_trainer(tmp_path: Path, **options) -> L.Trainer:
    """A Trainer that writes and prints nothing (no logger, checkpoints, progress bar or model
    summary)."""
    defaults = {
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "default_root_dir": tmp_path,
    }
    return L.Trainer(**{**defaults, **options})


def compose_train(*overrides: str, output_dir: Path | None = None) -> DictConfig:
    """`conf/train.yaml` with `overrides`, writing into `output_dir`, for runs inside the test process."""
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        extra = [f"paths.output_dir={output_dir}"] if output_dir else ["paths.output_dir=unused"]
        return compose("train", overrides=[*extra, *overrides])


def compose_task(task: str, *overrides: str) -> DictConfig:
    """`conf/<task>.yaml` (train, evaluate, predict) with `overrides`, for runs inside the test process."""
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        return compose(task, overrides=list(overrides))


def run_script(
    script: str, *overrides: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`python <repo>/<script> <overrides>` from `cwd`, as a user would type it (`env`: extra variables)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / script), *overrides],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,  # runs must never wait for input: a prompt would fail here
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_in_process(script: str, *args: str) -> tuple[int | str | None, list[str]]:
    """`python <repo>/<script>.py <args>` inside this process: (exit code, stderr lines). The same
    entry code as from the shell, without the seconds a new interpreter takes to import torch,
    Lightning and Hydra; a run that ends normally has exit code 0."""
    handlers = {name: list(logging.getLogger(name).handlers) for name in ("", "hydra")}
    root_level = logging.getLogger().level
    # The run seeds every generator: later tests get back the draws they would have had.
    rng = (random.getstate(), np.random.get_state(), torch.random.get_rng_state())
    stderr = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stderr(stderr):
        patch.delenv("HYDRA_FULL_ERROR", raising=False)
        patch.setattr(sys, "argv", [f"{script}.py", *args])
        try:
            runpy.run_path(str(REPO_ROOT / f"{script}.py"), run_name="__main__")
            code: int | str | None = 0
        except SystemExit as stopped:
            code = stopped.code
        finally:
            GlobalHydra.instance().clear()
            for name, kept in handlers.items():  # Hydra set up its logging for the run
                logging.getLogger(name).handlers[:] = kept
            logging.getLogger().setLevel(root_level)
            random.setstate(rng[0])
            np.random.set_state(rng[1])
            torch.random.set_rng_state(rng[2])
    return code, stderr.getvalue().splitlines()


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


class InMemoryData(TensorDataModule):
    """The given tensors as every split (`x [N, F]`, class ids `y [N, C]`), one batch of `batch_size`."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, num_classes: int = 3, batch_size: int = 0) -> None:
        super().__init__(batch_size=batch_size or len(x), num_workers=0, shuffle_seed=0)
        self.x, self.y = x, y
        self.num_features, self.num_channels, self.num_classes = x.shape[1], y.shape[1], num_classes

    def setup(self, stage: str | None = None) -> None:
        self.splits = {"train": (self.x, self.y), "val": (self.x, self.y), "test": (self.x, self.y)}


class PlainLoaderData(L.LightningDataModule):
    """A data module as a user might write one: a `TensorDataset` in plain `DataLoader`s.
    Feature 0 of each row is its index, so a callback can tell which rows a process saw."""

    def __init__(self, num_samples: int = 512, batch_size: int = 32) -> None:
        super().__init__()
        self.num_samples, self.batch_size = num_samples, batch_size
        self.num_features, self.num_channels, self.num_classes = 4, 3, 3

    def _loader(self, shuffle: bool) -> DataLoader:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(self.num_samples, self.num_features, generator=g)
        x[:, 0] = torch.arange(self.num_samples)
        y = torch.randint(0, self.num_classes, (self.num_samples, self.num_channels), generator=g)
        return DataLoader(TensorDataset(x, y), batch_size=self.batch_size, shuffle=shuffle)

    def train_dataloader(self) -> DataLoader:
        return self._loader(shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(shuffle=False)


class RecordTrainingRows(L.Callback):
    """Writes the row indices (feature 0) of the first epoch's training batches to
    `<dirpath>/rows_<rank>.txt`, one per line."""

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)
        self.rows: list[int] = []

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int
    ) -> None:
        if trainer.current_epoch == 0:
            self.rows += batch[0][:, 0].round().long().tolist()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == 0:
            self.dirpath.mkdir(parents=True, exist_ok=True)
            text = "".join(f"{row}\n" for row in self.rows)
            (self.dirpath / f"rows_{trainer.global_rank}.txt").write_text(text)


def feature_statistics(datamodule) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The mean, standard deviation and median `[F]` that a data module's spec hands the model."""
    statistics = datamodule.data_spec().input.statistics
    return tuple(torch.tensor(statistics[key]) for key in ("mean", "std", "median"))  # type: ignore[return-value]


def train_label_counts(datamodule) -> torch.Tensor:
    """The `[C, K]` training label counts of a data module's spec (K: the widest channel)."""
    counts = datamodule.data_spec().output.label_counts
    width = max(len(row) for row in counts)
    return torch.tensor([row + [0] * (width - len(row)) for row in counts])


def multi_output_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    class_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """The mean loss over every labelled (sample, channel) cell, as the model computes it
    (`cross_entropy_terms` then `mean_loss`): what the loss tests compare with their own sums."""
    from multiout.models.loss import cross_entropy_terms, mean_loss

    return mean_loss(*cross_entropy_terms(logits, target, ignore_index, label_smoothing, class_weight))
