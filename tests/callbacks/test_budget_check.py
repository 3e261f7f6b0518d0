"""The one warning line of a run whose budget was too short, from real Trainer runs."""

import logging

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping
from torch import nn

from multiout.callbacks.budget_check import BudgetCheck, still_rising
from tests.helpers import InMemoryData, quiet_trainer, read_metrics, run_in_process

WARNINGS = "multiout.callbacks.budget_check"


@pytest.mark.parametrize(
    ("best", "since", "rising"),
    [
        (0.395, [0.36, 0.37, 0.38, 0.39, 0.39], True),  # would pass 0.395 within 5 more
        (0.60, [0.50, 0.51, 0.52, 0.53, 0.54], False),  # climbing, too slowly to reach it
        (0.60, [0.59, 0.58, 0.59, 0.57, 0.58], False),  # a plateau
        (0.60, [0.58, 0.55, 0.52, 0.49, 0.46], False),  # overfitting
        (0.60, [0.58, 0.59], False),  # two values are no trend
        (0.892, [0.853, 0.873, 0.863, 0.873, 0.873, 0.873, 0.882, 0.873], False),  # a dip, then flat
        (
            0.743,
            [
                0.740,
                0.730,
                0.729,
                0.738,
                0.739,
                0.742,
                0.742,
                0.738,
                0.735,
                0.733,
                0.731,
                0.736,
                0.739,
                0.742,
                0.7427,
            ],
            False,
        ),  # noise around a plateau, ending near the best
    ],
)
def test_still_rising(best, since, rising):
    assert still_rising(best, since) is rising
    assert still_rising(-best, [-v for v in since], mode="min") is rising


class Scripted(L.LightningModule):
    """A real model that trains, but whose validation logs the next value of `val_accs`."""

    def __init__(self, val_accs):
        super().__init__()
        self.layer, self.val_accs = nn.Linear(6, 3), list(val_accs)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.cross_entropy(self.layer(x), y[:, 0])

    def validation_step(self, batch, batch_idx):
        pass

    def on_validation_epoch_end(self):
        if not self.trainer.sanity_checking:
            self.log("val/acc", self.val_accs.pop(0))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def fit(tmp_path, caplog, val_accs, min_steps, patience=3):
    data = InMemoryData(torch.randn(64, 6), torch.randint(0, 3, (64, 4)), 3, 32)  # 2 steps an epoch
    callbacks = [EarlyStopping("val/acc", mode="max", patience=patience), BudgetCheck(min_steps)]
    trainer = quiet_trainer(tmp_path, max_epochs=len(val_accs), num_sanity_val_steps=0, callbacks=callbacks)
    with caplog.at_level(logging.WARNING, logger=WARNINGS):
        trainer.fit(Scripted(val_accs), datamodule=data)
    return trainer, [r.getMessage() for r in caplog.records if r.name == WARNINGS]


def test_early_stopping_while_rising_is_one_line_naming_patience(tmp_path, caplog):
    accs = [0.30, 0.395, 0.36, 0.38, 0.39, 0.42, 0.44, 0.46]
    trainer, lines = fit(tmp_path, caplog, accs, min_steps=4)
    assert trainer.current_epoch == 5  # stopped after 3 validations without a new best
    assert lines == [
        "early stopping ended the run at step 10 while val/acc was still rising "
        "(best 0.3950, then 0.3600 0.3800 0.3900); raise callbacks.early_stopping.patience (now 3)"
    ]


def test_early_stopping_on_a_plateau_says_nothing(tmp_path, caplog):
    _, lines = fit(tmp_path, caplog, [0.30, 0.40, 0.39, 0.38, 0.39, 0.41], min_steps=4)
    assert lines == []


def test_a_run_shorter_than_the_trunk_needs_is_one_line(tmp_path, caplog):
    trainer, lines = fit(tmp_path, caplog, [0.3, 0.4, 0.5], min_steps=100)
    assert trainer.global_step == 6
    assert lines == [
        "the run ended after 6 optimizer steps, fewer than the 100 its trunk needs (budget.min_steps, "
        "from model.net.min_steps); leave trainer.max_epochs and max_steps unset, or raise them"
    ]


def test_a_template_run_cut_to_one_epoch_warns_in_its_log(tmp_path):
    run_dir = tmp_path / "run"
    code, _ = run_in_process(
        "train", f"hydra.run.dir={run_dir}", "data.num_samples=500", "data.batch_size=50",
        "trainer.max_epochs=1", "model.net.min_steps=300", "logger=none", "callbacks.rich_progress_bar=null",
        "trainer.enable_progress_bar=false", "callbacks.per_channel_report=null",
    )  # fmt: skip
    assert code == 0 and read_metrics(run_dir)["test/acc"] > 0
    warned = [line for line in (run_dir / "train.log").read_text().splitlines() if "optimizer steps" in line]
    assert len(warned) == 1
    # 400 training rows (80% of 500) in batches of 50: 8 steps.
    assert warned[0].endswith(
        "the run ended after 8 optimizer steps, fewer than the 300 its trunk needs (budget.min_steps, "
        "from model.net.min_steps); leave trainer.max_epochs and max_steps unset, or raise them"
    )
