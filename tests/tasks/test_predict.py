"""Prediction under DDP is refused where the processes' parts would not join in input order."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from multiout.errors import InputError
from multiout.tasks.predict import predict
from tests.helpers import InMemoryData, small_classifier


def test_a_data_module_that_shards_by_stride_predicts_in_one_process_only(tmp_path):
    trainer = L.Trainer(accelerator="cpu", strategy="ddp", devices=2, logger=False, default_root_dir=tmp_path)
    data = InMemoryData(torch.randn(8, 6), torch.zeros(8, 4, dtype=torch.int64))
    with pytest.raises(InputError, match=r"^this data module predicts in one process.*trainer.devices=1"):
        predict(trainer, small_classifier(), data)
