"""Each reach into Lightning's private API still does what `lightning_internals` relies on."""

from __future__ import annotations

import inspect

import lightning as L
from lightning.pytorch.strategies.launchers import subprocess_script

from multiout.data.synthetic import SyntheticDataModule
from multiout.runtime import lightning_internals
from multiout.runtime.lightning_internals import (
    ddp_child_command,
    set_received_sigterm,  # part: faults
    set_run_length,
    should_update_logs,
)
from tests.helpers import quiet_trainer, small_classifier


# part: faults
def test_the_sigterm_flag_is_the_one_trainer_received_sigterm_reads(tmp_path):
    trainer = quiet_trainer(tmp_path)
    assert trainer.received_sigterm is False
    set_received_sigterm(trainer, True)
    assert trainer.received_sigterm is True


# end part


def test_should_update_logs_follows_log_every_n_steps(tmp_path):
    answers = []

    class Probe(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            answers.append(should_update_logs(trainer))

    data = SyntheticDataModule(num_samples=400, num_features=6, num_channels=4, batch_size=32)
    trainer = quiet_trainer(
        tmp_path, max_epochs=1, log_every_n_steps=4, limit_val_batches=0, callbacks=[Probe()]
    )
    trainer.fit(small_classifier(), datamodule=data)
    assert answers == [False, False, False, True, False, False, False, True, False, False]


def test_ddp_children_are_started_through_the_patched_command():
    # Lightning's launcher must still ask this function for a Hydra app's child command.
    launcher_source = inspect.getsource(subprocess_script._SubprocessScriptLauncher)
    assert "_hydra_subprocess_cmd(" in launcher_source
    original = subprocess_script._hydra_subprocess_cmd
    command = lambda rank: (["child", str(rank)], "/")  # noqa: E731
    with ddp_child_command(command):
        assert subprocess_script._hydra_subprocess_cmd is command
    assert subprocess_script._hydra_subprocess_cmd is original


def test_the_csv_writer_hook_is_still_called_on_creation(tmp_path):
    calls = []

    class Recording(lightning_internals.AppendingWriter):
        def _check_log_dir_exists(self):
            calls.append(self.log_dir)
            super()._check_log_dir_exists()

    Recording(log_dir=str(tmp_path))
    assert calls == [str(tmp_path)]


def test_a_built_trainer_takes_its_run_length_and_validation_spacing(tmp_path):
    validated = []

    class Probe(L.Callback):
        def on_validation_end(self, trainer, pl_module):
            validated.append(trainer.current_epoch)

    data = SyntheticDataModule(num_samples=400, num_features=6, num_channels=4, batch_size=32)
    trainer = quiet_trainer(tmp_path, max_epochs=1, num_sanity_val_steps=0, callbacks=[Probe()])
    set_run_length(trainer, max_epochs=6, min_steps=5, val_every=3)
    trainer.fit(small_classifier(), datamodule=data)
    assert trainer.current_epoch == 6 and trainer.fit_loop.min_steps == 5
    assert validated == [2, 5]  # after epochs 3 and 6
