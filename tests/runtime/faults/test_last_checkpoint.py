import lightning as L

from multiout.data.synthetic import SyntheticDataModule
from multiout.runtime.faults.last_checkpoint import LastCheckpoint
from tests.models.test_classifier import make_model


def test_mid_epoch_saves_once_per_optimizer_step_under_accumulation(tmp_path, monkeypatch):
    saves = []
    trainer = L.Trainer(
        max_epochs=1, accumulate_grad_batches=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        limit_val_batches=0,
        callbacks=[LastCheckpoint(str(tmp_path), every_n_train_steps=2)],
    )  # fmt: skip
    monkeypatch.setattr(trainer, "save_checkpoint", lambda path: saves.append(trainer.global_step))
    data = SyntheticDataModule(num_samples=250, num_features=8, num_channels=5, batch_size=16)
    trainer.fit(make_model(), datamodule=data)  # 200 training rows: 13 batches, 6 optimizer steps
    assert saves == [2, 4, 6]  # not at step 0, never twice at one step, never mid-accumulation
