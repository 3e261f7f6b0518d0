"""Whole training runs, in-process so that they are quick: same seed, same results; non-finite losses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from multiout.data.batching import epoch_generator  # part: faults
from multiout.runtime.build import build, build_model, build_trainer, data_spec  # part: faults
from multiout.runtime.faults.non_finite_loss import NonFiniteLoss, NonFiniteLossError  # part: faults
from multiout.runtime.run import (
    exit_on_training_fault,  # part: faults
    run_train,
)
from multiout.tasks.train import train  # part: faults

CONF = str(Path(__file__).resolve().parents[2] / "conf")
FAST = [
    "data.num_samples=2000",
    "data.batch_size=64",
    "trainer.max_epochs=2",
    "trainer.accelerator=cpu",
    "trainer.deterministic=true",
    "++trainer.enable_progress_bar=false",
    "callbacks.rich_progress_bar=null",
    "callbacks.rich_model_summary=null",
    "logger=none",
    "callbacks.lr_monitor=null",
    "callbacks.per_channel_report.figures=false",  # part: figures
]


def compose_train(output_dir: Path, *overrides: str):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose("train", overrides=[f"paths.output_dir={output_dir}", *FAST, *overrides])


@pytest.fixture(autouse=True)
def _restore_determinism_flag():
    yield
    torch.use_deterministic_algorithms(False)  # trainer.deterministic=true sets it process-wide


def test_two_runs_with_the_same_seed_write_identical_metrics(tmp_path):
    for name in ("a", "b"):
        run_train(compose_train(tmp_path / name, "trainer.max_epochs=1", "data.num_samples=600"))
    a, b = (json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("a", "b"))
    assert Path(a.pop("ckpt_path")).name == Path(b.pop("ckpt_path")).name
    assert a == b and a["seed"] == 42


# part: faults
def poison_training_batch(datamodule, seed: int, batch: int) -> None:
    """Put a NaN into one row of the training batch `batch` of epoch 0."""
    datamodule.setup("fit")
    x, _ = datamodule.splits["train"]
    order = torch.randperm(len(x), generator=epoch_generator(seed, 0))
    row = order[batch * datamodule.batch_size]  # 1600 rows / 64 = 25 equal batches
    x[row, 3] = float("nan")


def test_nan_in_the_data_stops_training_keeping_the_last_good_checkpoint(tmp_path):
    cfg = compose_train(tmp_path, "callbacks.last_checkpoint.every_n_train_steps=5")
    datamodule = build(cfg.data)
    poison_training_batch(datamodule, cfg.seed, batch=12)
    trainer = build_trainer(cfg)
    with pytest.raises(NonFiniteLossError) as raised:
        train(trainer, build_model(cfg.model, data_spec(datamodule, cfg.data)), datamodule)
    message = str(raised.value)
    assert "non-finite training loss nan at step 12 (epoch 0, batch 12)" in message
    assert (
        "x [64, 32] torch.float32: 1 non-finite" in message
        and "y [64, 47] torch.int64: 0 non-finite" in message
    )
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 10
    assert all(torch.isfinite(t).all() for t in last["state_dict"].values())


def test_a_non_finite_loss_exits_3_with_one_line(capsys):
    with pytest.raises(SystemExit) as exited, exit_on_training_fault("outputs/x"):
        raise NonFiniteLossError("non-finite training loss nan at step 7")
    assert exited.value.code == 3
    assert capsys.readouterr().err.startswith("error: non-finite training loss nan at step 7")


def test_skip_leaves_the_bad_batch_out_and_trains_on(tmp_path):
    cfg = compose_train(tmp_path, "callbacks.non_finite_loss.action=skip", "trainer.max_epochs=1")
    datamodule = build(cfg.data)
    poison_training_batch(datamodule, cfg.seed, batch=3)
    trainer = build_trainer(cfg)
    model = build_model(cfg.model, data_spec(datamodule, cfg.data))
    metrics = train(trainer, model, datamodule, test=False)
    guard = next(c for c in trainer.callbacks if isinstance(c, NonFiniteLoss))
    assert guard.skipped == 1
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert metrics["val/acc"] > 0.5


# end part
