import math

import pytest
import torch

from multiout.errors import InputError
from multiout.models.optim import (
    adapted_to_trainer,
    build_optimizer,
    build_scheduler,
    optimizer_class,
    warmup_cosine,
)


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


def test_an_option_the_optimizer_does_not_take_is_named_before_training():
    with pytest.raises(
        InputError, match=r"RMSprop takes no option fused \(drop it with ~model.optimizer.fused\)"
    ):
        optimizer_class({"name": "RMSprop", "lr": 0.1, "fused": True})
    assert optimizer_class({"name": "AdamW", "lr": 0.1, "fused": True}) is torch.optim.AdamW


def test_the_default_fused_adamw_steps_like_the_plain_one():
    torch.manual_seed(0)
    weights = torch.randn(64, 32)
    grads = [torch.randn(64, 32) for _ in range(5)]
    results = []
    for extra in ({"fused": True}, {"foreach": False}):
        param = torch.nn.Parameter(weights.clone())
        optimizer = build_optimizer([param], {"name": "AdamW", "lr": 0.01, "weight_decay": 0.01, **extra})
        for grad in grads:
            param.grad = grad.clone()
            optimizer.step()
        results.append(param.detach())
    assert torch.allclose(results[0], results[1], atol=1e-6)
    assert not torch.equal(results[0], weights)


def test_fused_and_foreach_together_is_a_config_error():
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(InputError, match="fused and foreach cannot both be true"):
        build_optimizer(params, {"name": "AdamW", "lr": 0.1, "fused": True, "foreach": True})


@pytest.mark.parametrize(
    ("precision", "clip", "fused"),
    [
        ("bf16-mixed", 1.0, False),
        ("16-mixed", 0.5, False),
        ("bf16-mixed", None, True),
        ("32-true", 1.0, True),
    ],
)
def test_a_fused_optimizer_runs_unfused_only_for_clipping_under_mixed_precision(precision, clip, fused):
    config = {"name": "AdamW", "lr": 0.1, "fused": True}
    assert adapted_to_trainer(config, precision, clip)["fused"] is fused
    assert config["fused"] is True  # the hyperparameters themselves stay as configured
