"""Every hardware and precision choice composes, and what runs on a CPU runs here."""

from __future__ import annotations

import lightning as L
import pytest
from hydra import compose, initialize_config_dir
from lightning.pytorch.strategies import DDPStrategy, SingleDeviceStrategy
from omegaconf import open_dict

from multiout.runtime.build import build, build_model, build_trainer, data_spec
from tests.helpers import REPO_ROOT

PRECISIONS = ["32-true", "bf16-mixed", "16-mixed"]


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides))
    with open_dict(cfg):
        cfg.paths.output_dir = "unused"  # normally Hydra's run dir, which compose does not create
    return cfg


@pytest.mark.parametrize(
    ("trainer", "strategy", "devices"),
    [("default", SingleDeviceStrategy, 1), ("cpu", SingleDeviceStrategy, 1), ("gpu", SingleDeviceStrategy, 1),
     ("ddp", DDPStrategy, 2), ("ddp_sim", DDPStrategy, 2)],
)  # fmt: skip
def test_trainer_configs_build_their_strategy(trainer, strategy, devices):
    cfg = _compose(f"trainer={trainer}", "trainer.accelerator=cpu", "logger=none", "callbacks=none")
    built = build_trainer(cfg)
    assert isinstance(built.strategy, strategy) and built.num_devices == devices


@pytest.mark.parametrize("precision", PRECISIONS)
def test_precision_and_compile_compose(precision):
    cfg = _compose("trainer=ddp", "trainer.devices=4", f"trainer.precision={precision}", "model.compile=true")
    assert (cfg.trainer.precision, cfg.trainer.devices, cfg.model.compile) == (precision, 4, True)
    # Built on CPU, the trainer takes the setting (Lightning runs 16-mixed as bf16-mixed there).
    cpu = _compose("trainer=cpu", f"trainer.precision={precision}", "logger=none", "callbacks=none")
    expected = {"16-mixed": "bf16-mixed"}.get(precision, precision)
    assert build_trainer(cpu).precision == expected


def test_ddp_config_runs_on_cpu_without_gpu_only_options():
    cfg = _compose("trainer=ddp", "trainer.accelerator=cpu", "logger=none", "callbacks=none")
    trainer = build_trainer(cfg)
    assert isinstance(trainer.strategy, DDPStrategy)
    assert trainer.num_devices == 2 and not cfg.trainer.get("sync_batchnorm", False)


# Gradient clipping: Lightning refuses it under mixed precision with a fused optimizer, the
# default, which the model then runs unfused.
@pytest.mark.parametrize("clipping", [[], ["trainer.gradient_clip_val=1.0"]])
def test_bf16_mixed_trains_on_cpu(tmp_path, clipping):
    cfg = _compose(
        "trainer=cpu", "trainer.precision=bf16-mixed", "logger=none", "callbacks=none", "debug=fdr",
        "data.num_samples=300", "data.batch_size=32", *clipping,
    )  # fmt: skip
    assert cfg.model.optimizer.fused
    L.seed_everything(0)
    data = build(cfg.data)
    model = build_model(cfg.model, data_spec(data, cfg.data))
    trainer = build_trainer(cfg)
    trainer.fit(model, datamodule=data)
    assert trainer.precision == "bf16-mixed"
    assert trainer.gradient_clip_val == (1.0 if clipping else None)
    assert trainer.callback_metrics["train/loss_step"].isfinite()


# part: slurm
def test_slurm_launcher_takes_nodes_and_tasks_from_the_trainer():
    pytest.importorskip(
        "hydra_plugins.hydra_submitit_launcher", reason="optional extra: pip install -e '.[slurm]'"
    )
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)


# end part
