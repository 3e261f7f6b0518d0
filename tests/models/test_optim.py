import math

import pytest
import torch

from multiout.models.optim import build_optimizer, build_scheduler, warmup_cosine


def test_warmup_then_cosine_to_floor():
    factor = warmup_cosine(total_steps=100, warmup_steps=10, min_lr_ratio=0.1)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(10) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert factor(100) == pytest.approx(0.1)


def test_optimizer_and_plateau_from_plain_dicts():
    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = build_optimizer(params, {"name": "SGD", "lr": 0.5, "momentum": 0.9})
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["momentum"] == 0.9
    config = build_scheduler(optimizer, {"name": "plateau", "patience": 2}, total_steps=10)
    assert config["monitor"] == "val/loss" and config["scheduler"].patience == 2
    assert build_scheduler(optimizer, None, total_steps=10) is None
