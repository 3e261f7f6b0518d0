"""`model.compile=true`: checkpoints move freely between compiled and uncompiled models."""

from __future__ import annotations

import shutil
from pathlib import Path

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf
from torch._dynamo.utils import counters

from multiout.data.synthetic import SyntheticDataModule
from multiout.models.classifier import MultiOutputClassifier
from multiout.runtime.distributed import distributed_job
from tests.helpers import spec_dict

# Inductor on CPU generates C++ and needs a compiler for it.
pytestmark = pytest.mark.skipif(
    not (torch._dynamo.is_dynamo_supported() and (shutil.which("c++") or shutil.which("g++"))),
    reason="torch.compile needs dynamo support and a C++ compiler on this machine",
)

SHAPES = {"num_features": 8, "num_channels": 5, "num_classes": 3}


def _model(compile: bool) -> MultiOutputClassifier:
    net = {"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [16], "norm": "layer"}
    data = spec_dict(SHAPES["num_features"], SHAPES["num_channels"], SHAPES["num_classes"])
    return MultiOutputClassifier(
        data=data, net=net, optimizer={"_target_": "torch.optim.AdamW", "lr": 0.01}, compile=compile
    )


def _train_and_save(model: MultiOutputClassifier, path: Path) -> None:
    """Two training steps (through the compiled forward, if compiled), then a checkpoint."""
    data = SyntheticDataModule(num_samples=200, batch_size=32, **SHAPES)
    trainer = L.Trainer(
        accelerator="cpu", max_epochs=1, limit_train_batches=2, limit_val_batches=0, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    trainer.save_checkpoint(path)


def _assert_same_weights(a: MultiOutputClassifier, b: MultiOutputClassifier) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[key], state_b[key]) for key in state_a)


def test_compiled_checkpoint_loads_uncompiled_and_back(tmp_path):
    compiled = _model(compile=True)
    _train_and_save(compiled, tmp_path / "compiled.ckpt")
    assert not [key for key in compiled.state_dict() if "_orig_mod" in key]

    plain = MultiOutputClassifier.load_from_checkpoint(tmp_path / "compiled.ckpt", compile=False)
    assert not plain.hparams.compile
    _assert_same_weights(plain, compiled)
    x = torch.randn(4, SHAPES["num_features"])
    with torch.no_grad():
        torch.testing.assert_close(compiled.eval()(x), plain.eval()(x))

    # ...and an uncompiled model's checkpoint into a model that compiles.
    trained_plain = _model(compile=False)
    _train_and_save(trained_plain, tmp_path / "plain.ckpt")
    recompiled = MultiOutputClassifier.load_from_checkpoint(tmp_path / "plain.ckpt", compile=True)
    assert recompiled.hparams.compile
    _assert_same_weights(recompiled, trained_plain)


def test_under_ddp_only_the_forward_is_compiled(tmp_path):
    """DDP runs the steps through the module's `__call__`: compiling that would trace the step's
    logging too and recompile at every global step (torch gives up after 8)."""
    torch._dynamo.reset()
    counters.clear()
    trainer = L.Trainer(
        accelerator="cpu", devices=1, strategy="ddp", max_epochs=1, limit_train_batches=6,
        limit_val_batches=2, log_every_n_steps=1, logger=False, default_root_dir=tmp_path,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    with distributed_job(OmegaConf.create()):  # the process group goes when the fit ends
        trainer.fit(
            _model(compile=True), datamodule=SyntheticDataModule(num_samples=400, batch_size=32, **SHAPES)
        )
    assert trainer.global_step == 6
    # One graph for training and at most one more for evaluation (no autograd), whatever the step.
    assert 1 <= counters["stats"]["unique_graphs"] <= 2
