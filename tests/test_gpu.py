"""On a CUDA machine: mixed precision, compile and multi-GPU DDP really run. Skipped elsewhere.

`bash scripts/gpu_check.sh` runs these with the GPU benchmark and keeps a log.
"""

from __future__ import annotations

import lightning as L
import pytest
import torch

from multiout.data.synthetic import SyntheticDataModule
from multiout.models.classifier import MultiOutputClassifier
from tests.helpers import read_metrics, spec_dict

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

SHAPES = {"num_features": 32, "num_channels": 47, "num_classes": 3}
NET = {"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [256, 256], "norm": "layer"}


def _fit(precision: str, compile: bool, tmp_path) -> tuple[L.Trainer, MultiOutputClassifier]:
    data = spec_dict(SHAPES["num_features"], SHAPES["num_channels"], SHAPES["num_classes"])
    model = MultiOutputClassifier(
        data=data, net=NET, optimizer={"_target_": "torch.optim.AdamW", "lr": 0.003}, compile=compile
    )
    trainer = L.Trainer(
        accelerator="gpu", devices=1, precision=precision, max_epochs=2, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(model, datamodule=SyntheticDataModule(num_samples=4000, batch_size=256, **SHAPES))
    return trainer, model


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed", "16-mixed"])
def test_precisions_train_on_gpu(precision, tmp_path):
    if precision == "bf16-mixed" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16 support (before Ampere)")
    trainer, _ = _fit(precision, compile=False, tmp_path=tmp_path)
    assert trainer.callback_metrics["val/acc"] > 0.45  # learns: chance is 1/3


def test_compiled_gpu_checkpoint_loads_uncompiled(tmp_path):
    trainer, model = _fit("32-true", compile=True, tmp_path=tmp_path)
    trainer.save_checkpoint(tmp_path / "compiled.ckpt")
    plain = (
        MultiOutputClassifier.load_from_checkpoint(tmp_path / "compiled.ckpt", compile=False).cuda().eval()
    )
    x = torch.randn(8, SHAPES["num_features"], device="cuda")
    with torch.no_grad():
        torch.testing.assert_close(plain(x), model.eval()(x), rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 GPUs")
def test_ddp_on_two_gpus_matches_one_gpu(run):
    data = ["data.num_samples=2030", "data.batch_size=64", "trainer.max_epochs=1"]
    quiet = ["trainer.enable_progress_bar=false", "callbacks.rich_progress_bar=null"]
    _, ddp = run("train.py", "trainer=ddp", "trainer.devices=2", *data, *quiet, name="ddp")
    ckpt = read_metrics(ddp)["ckpt_path"]
    _, one = run("evaluate.py", f"ckpt_path={ckpt}", "trainer=gpu", "data.batch_size=64",
                 "trainer.enable_progress_bar=false", name="one")  # fmt: skip
    assert read_metrics(one)["test/acc_per_channel"] == read_metrics(ddp)["test/acc_per_channel"]


# part: speed
def test_resident_data_trains_with_no_host_read_on_quiet_steps(tmp_path):
    """Data on the GPU, batches gathered there; a step that neither logs nor ends an epoch
    copies nothing to the GPU and reads nothing back."""
    from bench.host_reads import count_training_reads

    small = ["trainer=gpu", "data.num_samples=20000", "data.batch_size=512", "trainer.max_epochs=2",
             "trainer.log_every_n_steps=10", "callbacks.rich_progress_bar=null"]  # fmt: skip
    counted = count_training_reads(small, tmp_path, where=True, cuda_syncs=True)
    assert counted["reads_on_quiet_steps"] == 0, counted
    assert counted["host_reads"] <= counted["bound"], counted


# end part


def test_resident_batches_are_gathered_on_the_gpu(tmp_path):
    data = SyntheticDataModule(num_samples=4000, batch_size=256, device_resident_max_gb=1, **SHAPES)
    model = MultiOutputClassifier(
        data=data.data_spec().to_dict(), net=NET, optimizer={"_target_": "torch.optim.AdamW", "lr": 0.003}
    )
    trainer = L.Trainer(accelerator="gpu", devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(model, datamodule=data)
    assert data.resident["train"][0].is_cuda
    loader = data.train_dataloader()
    assert loader.device.type == "cuda" and not loader.pin_memory
    x, y = next(iter(loader))
    assert x.is_cuda and y.is_cuda
