"""A non-finite loss is caught at the next logging step, before any checkpoint holds it."""

from __future__ import annotations

import copy
import math

import lightning as L
import pytest
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from multiout.data.synthetic import SyntheticDataModule
from multiout.models.classifier import MultiOutputClassifier
from multiout.runtime.faults.last_checkpoint import LastCheckpoint
from multiout.runtime.faults.non_finite_loss import NonFiniteLoss, NonFiniteLossError
from tests.helpers import quiet_trainer, small_classifier

BAD_BATCH = 4


class NanAtBatch(MultiOutputClassifier):
    """The loss of batch `BAD_BATCH` times `factor`: NaN, or with an infinite factor +-inf."""

    factor = float("nan")

    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        return loss * self.factor if batch_idx == BAD_BATCH else loss


def bad_loss_model(factor: float = float("nan")) -> NanAtBatch:
    model = NanAtBatch(**small_classifier().hparams)
    model.factor = factor
    return model


class StepsSeen(L.Callback):
    def __init__(self) -> None:
        self.ended = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.ended += 1


def synthetic_data() -> SyntheticDataModule:
    return SyntheticDataModule(num_samples=600, num_features=6, num_channels=4, batch_size=32)  # 15 steps


def fit_until_caught(
    tmp_path, *callbacks: L.Callback, factor: float = float("nan"), **options
) -> tuple[str, StepsSeen, L.Trainer]:
    seen = StepsSeen()
    trainer = quiet_trainer(
        tmp_path, max_epochs=1, limit_val_batches=0, callbacks=[*callbacks, NonFiniteLoss(), seen], **options
    )
    with pytest.raises(NonFiniteLossError) as raised:
        trainer.fit(bad_loss_model(factor), datamodule=synthetic_data())
    return str(raised.value), seen, trainer


@pytest.mark.parametrize("every", [3, 7])
def test_caught_at_the_next_logging_step_naming_the_first_bad_step(tmp_path, every):
    message, seen, _ = fit_until_caught(tmp_path, log_every_n_steps=every)
    assert f"non-finite training loss nan at step {BAD_BATCH} (epoch 0, batch {BAD_BATCH})" in message
    assert "x [32, 6] torch.float32: 0 non-finite" in message
    # Lightning logs at the batches whose number, counted from 1, is a multiple of `every`;
    # the check at the end of the first such batch from the bad one on raises.
    caught_at = next(b for b in range(BAD_BATCH, 15) if (b + 1) % every == 0)
    assert seen.ended == caught_at  # batches 0 .. caught_at - 1 ended whole


@pytest.mark.parametrize("factor", [math.inf, -math.inf])
def test_an_infinite_loss_is_caught_as_a_nan_is(tmp_path, factor):
    message, seen, _ = fit_until_caught(tmp_path, factor=factor, log_every_n_steps=50)
    assert f"non-finite training loss {factor} at step {BAD_BATCH} (epoch 0, batch {BAD_BATCH})" in message
    assert seen.ended == 15  # caught at the epoch end, the first check after it


def training_state(model: L.LightningModule, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """A copy of every weight and of the optimizer's state (AdamW: step, exp_avg, exp_avg_sq)."""
    state = {f"weight {name}": value.detach() for name, value in model.named_parameters()}
    for param, values in optimizer.state_dict()["state"].items():
        state |= {f"param {param} {name}": value for name, value in values.items()}
    return copy.deepcopy(state)


class StateAroundSteps(L.Callback):
    """The training state as each of `batches` starts and once it has ended."""

    def __init__(self, *batches: int) -> None:
        self.batches = batches
        self.before: dict[int, dict] = {}
        self.after: dict[int, dict] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx in self.batches:
            self.before[batch_idx] = training_state(pl_module, trainer.optimizers[0])

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if batch_idx in self.batches:
            self.after[batch_idx] = training_state(pl_module, trainer.optimizers[0])


def changed(before: dict, after: dict) -> list[str]:
    assert before.keys() == after.keys()
    return [name for name in before if not torch.equal(before[name], after[name])]


@pytest.mark.parametrize("factor", [float("nan"), math.inf])
def test_a_skipped_step_leaves_weights_and_optimizer_state_as_they_were(tmp_path, factor):
    guard, state = NonFiniteLoss("skip"), StateAroundSteps(BAD_BATCH, BAD_BATCH + 1)
    options = {"max_epochs": 1, "limit_train_batches": BAD_BATCH + 2, "limit_val_batches": 0}
    trainer = quiet_trainer(tmp_path, callbacks=[guard, state], **options)
    trainer.fit(bad_loss_model(factor), datamodule=synthetic_data())
    assert guard.skipped == 1
    before, after = state.before[BAD_BATCH], state.after[BAD_BATCH]
    assert {name.rpartition(" ")[2] for name in before if name.startswith("param")} == {
        "step", "exp_avg", "exp_avg_sq"
    }  # fmt: skip
    assert changed(before, after) == []  # not one weight, step count or moment moved
    # The next step updates them all: the comparison above can see a change.
    assert changed(state.before[BAD_BATCH + 1], state.after[BAD_BATCH + 1]) == list(before)


def test_no_checkpoint_is_written_after_the_bad_step(tmp_path):
    saver = LastCheckpoint(str(tmp_path), every_n_train_steps=1)
    message, seen, _ = fit_until_caught(tmp_path, saver, log_every_n_steps=50)
    assert f"at step {BAD_BATCH} (epoch 0, batch {BAD_BATCH})" in message
    last = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert last["global_step"] == BAD_BATCH  # saved before the bad step's update, the last save
    assert all(torch.isfinite(t).all() for t in last["state_dict"].values())
    assert seen.ended == BAD_BATCH  # the save after the bad step's update raised instead


def test_caught_at_the_epoch_end_without_logging_steps(tmp_path):
    message, seen, trainer = fit_until_caught(tmp_path, log_every_n_steps=0)
    assert f"at step {BAD_BATCH}" in message and seen.ended == trainer.num_training_batches == 15


class SigtermAfterBadStep(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == BAD_BATCH + 1:
            raise SIGTERMException()


def test_a_sigterm_after_an_unchecked_bad_step_saves_no_bad_weights(tmp_path):
    # The non-finite check comes first among the exception hooks, the SIGTERM save after it:
    # the save must still see the unchecked bad loss and refuse to write.
    saver = LastCheckpoint(str(tmp_path), every_n_train_steps=0)  # only the save on SIGTERM
    callbacks = [NonFiniteLoss(), saver, SigtermAfterBadStep()]
    trainer = quiet_trainer(
        tmp_path, max_epochs=1, limit_val_batches=0, log_every_n_steps=50, callbacks=callbacks
    )
    with pytest.raises(NonFiniteLossError, match=f"at step {BAD_BATCH}"):
        trainer.fit(bad_loss_model(), datamodule=synthetic_data())
    assert not (tmp_path / "last.ckpt").exists()
