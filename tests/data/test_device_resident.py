"""Data resident on the device: moved once, every batch gathered there, the same batches as
gathered on the host. On a CPU the same code path runs with `device_resident_on_cpu`."""

from __future__ import annotations

import logging

import lightning as L
import pytest
import torch

from multiout.data.batching import IndexedTensors, batch_loader
from multiout.data.synthetic import SyntheticDataModule
from multiout.errors import InputError
from tests.helpers import quiet_trainer, small_classifier

CPU = torch.device("cpu")


def epoch_batches(loader, epoch: int) -> list[tuple[torch.Tensor, ...]]:
    loader.sampler.set_epoch(epoch)
    return list(loader)


@pytest.mark.parametrize("world_size", [1, 3])
def test_batches_gathered_on_the_device_equal_those_gathered_on_the_host(world_size):
    x = torch.arange(101 * 3, dtype=torch.float32).view(101, 3)
    y = torch.arange(101 * 2).view(101, 2)
    rows = []
    for rank in range(world_size):
        options = {"batch_size": 8, "shuffle": True, "seed": 5, "rank": rank, "world_size": world_size}
        host = batch_loader(IndexedTensors(x, y), **options)
        resident = batch_loader(IndexedTensors(x, y), **options, device=CPU)
        for epoch in (0, 1):
            ours, theirs = epoch_batches(resident, epoch), epoch_batches(host, epoch)
            assert len(ours) == len(theirs)
            for a, b in zip(ours, theirs, strict=True):
                assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
            rows += [int(r) for batch in ours for r in batch[1][:, 0] // 2] if epoch == 0 else []
    assert sorted(rows) == list(range(101))  # each row exactly once, over all processes


def test_the_epoch_order_moves_once_and_batches_are_views_of_it():
    loader = batch_loader(IndexedTensors(torch.randn(50, 2)), batch_size=8, shuffle=True, device=CPU)
    chunks = loader.sampler.remaining_batches(CPU)
    assert len({chunk.untyped_storage().data_ptr() for chunk in chunks}) == 1
    assert sorted(torch.cat(chunks).tolist()) == list(range(50))


def test_a_resumed_epoch_continues_on_the_device_where_it_stopped():
    x = torch.arange(100, dtype=torch.float32).view(100, 1)
    first = batch_loader(IndexedTensors(x), batch_size=8, shuffle=True, seed=3, device=CPU)
    batches = iter(first)
    seen = [next(batches) for _ in range(5)]
    resumed = batch_loader(IndexedTensors(x), batch_size=8, shuffle=True, seed=3, device=CPU)
    resumed.sampler.load_state_dict(first.sampler.state_dict())
    rest = list(resumed)
    whole = list(batch_loader(IndexedTensors(x), batch_size=8, shuffle=True, seed=3))
    assert len(seen) + len(rest) == len(whole)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(seen + rest, whole, strict=True))


def test_device_batches_take_neither_workers_nor_pinned_memory():
    with pytest.raises(ValueError, match="neither workers nor pinned"):
        batch_loader(
            IndexedTensors(torch.randn(4, 2)), batch_size=2, shuffle=False, num_workers=1, device=CPU
        )


class Recorder(L.Callback):
    def __init__(self) -> None:
        self.batches: list[torch.Tensor] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.batches.append(batch[0])


def fit(tmp_path, **data_options) -> tuple[SyntheticDataModule, Recorder, L.LightningModule]:
    data = SyntheticDataModule(num_samples=600, num_features=6, num_channels=4, batch_size=32, **data_options)
    recorder = Recorder()
    trainer = quiet_trainer(tmp_path, max_epochs=2, limit_val_batches=2, callbacks=[recorder])
    torch.manual_seed(0)
    model = small_classifier()
    trainer.fit(model, datamodule=data)
    return data, recorder, model


def test_training_from_resident_data_is_training_from_host_data(tmp_path):
    resident, seen, model = fit(tmp_path, device_resident_max_gb=1, device_resident_on_cpu=True)
    host, host_seen, host_model = fit(tmp_path, device_resident_max_gb=1)
    assert set(resident.resident) == {"train", "val"} and not host.resident
    train_loader = resident.train_dataloader()
    assert train_loader.device == CPU and train_loader.dataset.tensors == resident.resident["train"]
    assert len(seen.batches) == len(host_seen.batches) == 2 * 15
    assert all(torch.equal(a, b) for a, b in zip(seen.batches, host_seen.batches, strict=True))
    for a, b in zip(model.parameters(), host_model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_splits_over_the_budget_stay_on_the_host(tmp_path, caplog):
    # The training split: 480 rows x (6 float32 + 4 int64) = 26,880 bytes; val: 60 rows, 3,360.
    budget = 28_000 / 2**30
    with caplog.at_level(logging.INFO, logger="multiout.data.tensor_datamodule"):
        data, _, _ = fit(tmp_path, device_resident_max_gb=budget, device_resident_on_cpu=True)
    assert set(data.resident) == {"train"}
    assert "val split stays on the host" in caplog.text and "over data.device_resident_max_gb" in caplog.text


def test_a_negative_budget_is_a_config_mistake():
    with pytest.raises(InputError, match=r"data.device_resident_max_gb must be 0 \(off\) or more, got -1"):
        SyntheticDataModule(device_resident_max_gb=-1)
