"""The data modules' batches reach the model as they left the loader, without a warning."""

from __future__ import annotations

import warnings

import lightning.pytorch.core.hooks
import pytest
import torch

from multiout.data.synthetic import SyntheticDataModule
from multiout.data.tensor_datamodule import TensorDataModule
from tests.helpers import quiet_trainer, small_classifier


@pytest.mark.parametrize("kind", [tuple, list])
def test_a_batch_of_tensors_moves_without_lightnings_generic_walk(monkeypatch, kind):
    def generic_walk(*args, **kwargs):
        raise AssertionError("Lightning's move_data_to_device was called")

    monkeypatch.setattr(lightning.pytorch.core.hooks, "move_data_to_device", generic_walk)
    datamodule = TensorDataModule(batch_size=8, num_workers=0, shuffle_seed=0)
    batch = kind([torch.randn(8, 3), torch.randint(0, 3, (8, 5))])
    moved = datamodule.transfer_batch_to_device(batch, torch.device("cpu"), 0)
    assert type(moved) is kind and all(a is b for a, b in zip(moved, batch, strict=True))
    with pytest.raises(AssertionError, match="move_data_to_device"):  # anything else: Lightning's
        datamodule.transfer_batch_to_device({"x": batch[0]}, torch.device("cpu"), 0)


def test_training_with_a_data_module_warns_of_no_overridden_hook(tmp_path):
    datamodule = SyntheticDataModule(num_samples=300, num_features=6, num_channels=4, batch_size=32)
    model = small_classifier()
    trainer = quiet_trainer(tmp_path, fast_dev_run=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(model, datamodule=datamodule)
    assert not [w for w in caught if "You have overridden" in str(w.message)]
