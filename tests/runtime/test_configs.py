"""Every config composes, and the composed defaults run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping
from omegaconf import OmegaConf

from multiout.runtime.build import build, build_group, build_model, build_trainer, data_spec
from multiout.runtime.config_keys import misspelt_key
from multiout.runtime.run import run_train
from multiout.runtime.speed import NoProfiler  # part: speed
from tests.helpers import REPO_ROOT, compose_train


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (REPO_ROOT / "conf" / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "override",
    [f"trainer={o}" for o in options("trainer")]
    + [f"debug={o}" for o in options("debug")]
    + [f"experiment={o}" for o in options("experiment")]
    + [f"logger={o}" for o in options("logger")]
    + [f"callbacks={o}" for o in options("callbacks") if o in ("default", "faults", "none")],
)
def test_every_config_composes_and_resolves(override):
    cfg = compose_train(override)
    OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves
    spec = data_spec(build(cfg.data), cfg.data)
    model = build_model(cfg.model, spec)  # the shapes reach the model from the data spec only
    logits = model(torch.randn(2, *spec.input.shape))
    assert logits.shape == (2, spec.output.num_classes, spec.output.num_channels)


def test_model_follows_the_data_config():
    cfg = compose_train("data.num_channels=5", "data.num_classes=4", "data.num_features=7")
    model = build_model(cfg.model, data_spec(build(cfg.data), cfg.data))
    assert (model.num_channels, model.num_classes, model.trunk[0].in_features) == (5, 4, 7)


def test_callbacks_and_loggers_build():
    cfg = compose_train("logger=csv", output_dir=Path("unused"))
    callbacks = build_group(cfg.callbacks)
    assert {type(c).__name__ for c in callbacks} >= {
        "ModelCheckpoint",
        "EarlyStopping",
        "LearningRateMonitor",
    }
    assert [type(x).__name__ for x in build_group(cfg.logger)] == ["AppendingCSVLogger"]
    assert build_group(compose_train("callbacks=none", "logger=none").callbacks) == []


@pytest.mark.parametrize("extra", [[], ["logger=none"]])
def test_fast_dev_run_of_the_composed_config(tmp_path, extra):
    cfg = compose_train("debug=fdr", "data.num_samples=1000", *extra, output_dir=tmp_path)
    run_train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics["test/acc_per_channel"]) == 47 and metrics["seed"] == 42


def test_overfitting_a_few_batches_reaches_full_accuracy(tmp_path):
    cfg = compose_train(
        "debug=overfit", "trainer.max_epochs=150", "trainer.enable_progress_bar=false", "logger=none",
        "callbacks.rich_progress_bar=null", "data.num_samples=2000", "data.batch_size=32", output_dir=tmp_path,
    )  # fmt: skip
    datamodule = build(cfg.data)
    model = build_model(cfg.model, data_spec(datamodule, cfg.data))
    trainer = build_trainer(cfg)  # with the default callbacks: checkpoints are saved as usual
    # Stops once the goal is reached (about 10 epochs), rather than training all 150.
    reached = EarlyStopping("train/acc_epoch", mode="max", stopping_threshold=0.99, patience=150,
                            check_on_train_epoch_end=True)  # fmt: skip
    trainer.callbacks.append(reached)
    trainer.fit(model, datamodule=datamodule)
    assert trainer.callback_metrics["train/acc_epoch"] >= 0.99
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()


def test_fast_dev_run_saves_no_checkpoint(tmp_path):
    run_train(compose_train("debug=fdr", "data.num_samples=1000", output_dir=tmp_path))
    assert not list(tmp_path.rglob("*.ckpt"))


def test_default_profiler_records_nothing_and_debug_profiler_writes_a_report(tmp_path):
    assert isinstance(build_trainer(compose_train(output_dir=tmp_path)).profiler, NoProfiler)  # part: speed
    run_train(compose_train("debug=profiler", "data.num_samples=1000", "logger=none", output_dir=tmp_path))
    report = (tmp_path / "fit-profile.txt").read_text()
    assert "run_training_batch" in report and "[Strategy]SingleDeviceStrategy.training_step" in report


@pytest.mark.parametrize(
    "data",
    [
        "synthetic",
        "tabular",  # part: tables
    ],
)
def test_the_cpu_switch_for_resident_data_is_no_user_key_but_a_test_can_add_it(data):
    assert "device_resident_on_cpu" not in compose_train(f"data={data}").data
    added = compose_train(f"data={data}", "+data.device_resident_on_cpu=true")
    assert misspelt_key(dict(added.data), dict(compose_train(f"data={data}").data)) is None
    if data == "synthetic":
        assert build(added.data).device_resident_on_cpu is True
