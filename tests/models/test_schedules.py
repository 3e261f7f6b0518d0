import pytest
import torch

from multiout.errors import InputError
from multiout.models.schedules import WarmupCosine, build_optimizer, build_scheduler
from multiout.models.targets import target_class

ADAMW = "torch.optim.AdamW"


def params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(2))]


def test_warmup_then_cosine_to_floor():
    optimizer = torch.optim.SGD(params(), lr=1.0)
    schedule = WarmupCosine(optimizer, total_steps=100, warmup_fraction=0.1, min_lr_ratio=0.1)
    factor = schedule.factor  # by hand: linear warm-up over 10 steps, then half a cosine period
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(10) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.55)  # halfway through the decay: halfway to the floor
    assert factor(100) == pytest.approx(0.1)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)  # step 0 applied at construction


def test_step_schedules_get_the_runs_length_and_lightning_keys_go_to_lightning():
    optimizer = build_optimizer({"_target_": "torch.optim.SGD", "lr": 0.5, "momentum": 0.9}, params())
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["momentum"] == 0.9
    spec = {"_target_": "multiout.models.schedules.WarmupCosine", "warmup_fraction": 0.5}
    config = build_scheduler(spec, optimizer, total_steps=10)
    assert config["interval"] == "step" and config["scheduler"].total_steps == 10
    assert config["scheduler"].warmup_steps == 5
    one_cycle = {"_target_": "torch.optim.lr_scheduler.OneCycleLR", "max_lr": 0.1}
    assert build_scheduler(one_cycle, optimizer, total_steps=7)["scheduler"].total_steps == 7
    plateau = {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau", "patience": 2, "monitor": "val/loss"}
    config = build_scheduler(plateau, optimizer, total_steps=10)
    assert config["monitor"] == "val/loss" and config["scheduler"].patience == 2
    assert config["interval"] == "epoch"
    spec = {"_target_": "multiout.models.schedules.WarmupCosine"}  # no interval: per step, as it counts
    assert build_scheduler(spec, optimizer, total_steps=10)["interval"] == "step"
    assert build_scheduler(None, optimizer, total_steps=10) is None


def test_a_plateau_schedule_steps_after_each_validation_of_the_budget(tmp_path):
    # 100 rows in batches of 32 (4 steps an epoch); the budget validates every 3 epochs, and
    # val/loss is only logged then: the schedule must step those epochs, not the others.
    from omegaconf import OmegaConf

    from multiout.runtime.budget import apply_budget
    from tests.helpers import InMemoryData, quiet_trainer, small_classifier

    g = torch.Generator().manual_seed(0)
    data = InMemoryData(torch.randn(100, 6, generator=g), torch.randint(0, 3, (100, 4), generator=g), 3, 32)
    budget = {"epochs": 2, "min_batches": 1, "min_batch_size": 32, "min_steps": 40, "validations": 4}
    plateau = {"_target_": "torch.optim.lr_scheduler.ReduceLROnPlateau", "patience": 0, "monitor": "val/loss"}
    model = small_classifier(scheduler=plateau, optimizer={"_target_": "torch.optim.SGD", "lr": 0.0})
    trainer = quiet_trainer(tmp_path, max_epochs=None, num_sanity_val_steps=0)
    plan = apply_budget(trainer, data, data.data_spec(), OmegaConf.create(budget))
    trainer.fit(model, datamodule=data)  # no "ReduceLROnPlateau conditioned on metric val/loss" error
    assert plan.val_every == 3 and trainer.current_epoch == 12
    # Stepped once per validation (epochs 3, 6, 9, 12): ReduceLROnPlateau counts its steps.
    assert trainer.lr_scheduler_configs[0].scheduler.last_epoch == 4


def test_an_option_the_optimizer_does_not_take_is_named_before_training():
    with pytest.raises(
        InputError, match=r"RMSprop takes no argument 'fused' \(drop it with ~model.optimizer.fused\)"
    ):
        target_class({"_target_": "torch.optim.RMSprop", "lr": 0.1, "fused": True}, "model.optimizer")
    assert target_class({"_target_": ADAMW, "lr": 0.1, "fused": True}, "model.optimizer") is torch.optim.AdamW


def test_the_default_fused_adamw_steps_like_the_plain_one():
    torch.manual_seed(0)
    weights = torch.randn(64, 32)
    grads = [torch.randn(64, 32) for _ in range(5)]
    results = []
    for extra in ({"fused": True}, {"foreach": False}):
        param = torch.nn.Parameter(weights.clone())
        optimizer = build_optimizer({"_target_": ADAMW, "lr": 0.01, "weight_decay": 0.01, **extra}, [param])
        for grad in grads:
            param.grad = grad.clone()
            optimizer.step()
        results.append(param.detach())
    assert torch.allclose(results[0], results[1], atol=1e-6)
    assert not torch.equal(results[0], weights)


def test_a_bad_optimizer_argument_is_a_config_error():
    with pytest.raises(InputError, match=r"model\.optimizer: AdamW\(.*fused=True.*\) failed: .*fused"):
        build_optimizer({"_target_": ADAMW, "lr": 0.1, "fused": True, "foreach": True}, params())


@pytest.mark.parametrize(
    ("precision", "clipping", "fused"),
    [
        ("bf16-mixed", True, False),
        ("16-mixed", True, False),
        ("bf16-mixed", False, True),
        ("32-true", True, True),
    ],
)
def test_a_fused_optimizer_runs_unfused_only_for_clipping_under_mixed_precision(precision, clipping, fused):
    spec = {"_target_": ADAMW, "lr": 0.1, "fused": True}
    optimizer = build_optimizer(spec, params(), precision, clipping)
    assert optimizer.defaults["fused"] is fused
    assert spec["fused"] is True  # the hyperparameters themselves stay as configured


def test_a_resumed_schedule_follows_the_new_runs_length():
    optimizer = torch.optim.SGD(params(), lr=1.0)
    first = WarmupCosine(optimizer, total_steps=100, min_lr_ratio=0.0)
    for _ in range(50):
        optimizer.step()
        first.step()
    longer = WarmupCosine(torch.optim.SGD(params(), lr=1.0), total_steps=200, min_lr_ratio=0.0)
    longer.load_state_dict(first.state_dict())  # as on resume with twice the epochs
    assert longer.total_steps == 200 and longer.last_epoch == 50
    assert longer.factor(100) == pytest.approx(0.5)  # halfway through the new length, not the end
