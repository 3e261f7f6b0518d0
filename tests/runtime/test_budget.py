"""The training budget: its rule against hand-worked numbers, and a real Trainer that follows it."""

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping
from omegaconf import OmegaConf

from multiout.errors import InputError
from multiout.runtime.budget import apply_budget, plan_budget, small_table_batch, training_rows
from tests.helpers import InMemoryData, quiet_trainer, small_classifier

BUDGET = {"epochs": 20, "min_steps": 1000, "validations": 20}


@pytest.mark.parametrize(
    ("steps_per_epoch", "epochs", "val_every"),
    [
        (1, 1000, 50),  # one batch an epoch: 1000 epochs, a validation every 50 (= 1000 / 20)
        (9, 114, 6),  # 112 epochs for 1000 steps, validations every ceil(50 / 9) = 6: 19 of them
        (20, 51, 3),  # 50 epochs for 1000 steps, validations every ceil(50 / 20) = 3: 17 of them
        (60, 20, 1),  # 20 epochs are more than 1000 steps: every epoch validates
        (125, 20, 1),  # the default run's 32,000 rows in batches of 256
        (15625, 20, 1),  # 4 million rows
    ],
)
def test_small_tables_get_the_trunks_steps_and_large_ones_their_epochs(steps_per_epoch, epochs, val_every):
    plan = plan_budget(steps_per_epoch, **BUDGET)
    assert (plan.epochs, plan.val_every) == (epochs, val_every)
    assert plan.steps == epochs * steps_per_epoch


@pytest.mark.parametrize("key", ["epochs", "min_steps", "validations"])
def test_a_budget_of_nothing_is_one_line(key):
    with pytest.raises(InputError, match=f"budget.{key} must be a positive integer, got 0"):
        plan_budget(5, **{**BUDGET, key: 0})


@pytest.mark.parametrize(
    ("rows", "batch_size"),
    [(276, 32), (1221, 76), (4000, 250), (32000, 256), (100, 32)],  # rows // 16, within [32, 256]
)
def test_a_small_table_gets_smaller_batches(rows, batch_size):
    assert small_table_batch(rows, 256, min_batches=16, min_batch_size=32) == batch_size


def test_training_rows_are_those_of_the_most_complete_channel():
    y = torch.randint(0, 3, (90, 4))
    y[:10, 0] = y[:20, 1] = y[:5, 2] = y[:5, 3] = -100  # missing labels
    assert training_rows(InMemoryData(torch.randn(90, 6), y).data_spec()) == 85


class ValidationSteps(L.Callback):
    def __init__(self):
        self.at_steps = []

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            self.at_steps.append(trainer.global_step)


def fit_with_budget(tmp_path, budget, callbacks=(), **trainer_options):
    """A real fit of 100 rows in batches of 32 (4 an epoch) with `budget` applied."""
    g = torch.Generator().manual_seed(0)
    data = InMemoryData(torch.randn(100, 6, generator=g), torch.randint(0, 3, (100, 4), generator=g), 3, 32)
    validations = ValidationSteps()
    options = {"max_epochs": None, "num_sanity_val_steps": 0, **trainer_options}
    trainer = quiet_trainer(tmp_path, callbacks=[validations, *callbacks], **options)
    plan = apply_budget(trainer, data, data.data_spec(), OmegaConf.create(budget) if budget else None)
    trainer.fit(small_classifier(), datamodule=data)
    return trainer, plan, validations.at_steps


# min_batches=1: batches stay 32 rows.
SMALL = {"epochs": 2, "min_batches": 1, "min_batch_size": 32, "min_steps": 40, "validations": 4}


def test_a_trainer_runs_the_budgets_epochs_and_validates_every_few(tmp_path):
    trainer, plan, validated = fit_with_budget(tmp_path, SMALL)
    # 40 steps are 10 epochs of 4; validations every ceil(40 / 4 / 4) = 3 epochs: 12 epochs.
    assert (plan.epochs, plan.val_every, plan.steps_per_epoch) == (12, 3, 4)
    assert trainer.current_epoch == 12 and trainer.global_step == 48
    assert validated == [12, 24, 36, 48]


def test_gradient_accumulation_counts_optimizer_steps(tmp_path):
    trainer, plan, validated = fit_with_budget(
        tmp_path, {**SMALL, "min_steps": 20}, accumulate_grad_batches=2
    )
    # 2 optimizer steps an epoch; 20 steps are 10 epochs; validations every ceil(20 / 4 / 2) = 3.
    assert (plan.epochs, plan.val_every, plan.steps_per_epoch) == (12, 3, 2)
    assert trainer.global_step == 24 and validated == [6, 12, 18, 24]


def test_early_stopping_waits_for_min_steps(tmp_path):
    # val/acc can only improve by more than 1: every validation after the first is no progress.
    stopper = EarlyStopping("val/acc", mode="max", patience=1, min_delta=1.0)
    budget = {**SMALL, "epochs": 30, "min_steps": 24}  # 30 epochs; 24 steps are 6
    trainer, plan, validated = fit_with_budget(tmp_path, budget, callbacks=[stopper])
    assert (plan.epochs, plan.val_every) == (30, 2)
    assert trainer.global_step == 24 and validated == [8, 16, 24]  # not stopped at 16


def test_the_batch_size_follows_a_small_table(tmp_path):
    trainer, plan, _ = fit_with_budget(tmp_path, {**SMALL, "min_batches": 10, "min_batch_size": 5})
    assert plan.steps_per_epoch == 10  # batches of 100 // 10 rows
    assert len(trainer.train_dataloader) == 10 and trainer.global_step == plan.steps


@pytest.mark.parametrize(
    ("budget", "options"), [(None, {"max_epochs": 3}), (SMALL, {"max_epochs": 3}), (SMALL, {"max_steps": 7})]
)
def test_an_explicit_length_or_no_budget_is_counted_the_lightning_way(tmp_path, budget, options):
    trainer, plan, validated = fit_with_budget(tmp_path, budget, **options)
    assert plan is None
    if "max_epochs" in options:
        assert trainer.global_step == 12 and validated == [4, 8, 12]
    else:
        assert trainer.global_step == 7
