import lightning as L
import torch

from multiout.data.synthetic import SyntheticDataModule
from multiout.runtime.faults.last_checkpoint import LastCheckpoint
from tests.helpers import small_classifier


class RecordSaves(L.Callback):
    """The step of every checkpoint file written, read back from the file itself."""

    def __init__(self, path) -> None:
        self.path, self.steps, self._mtime = path, [], None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.path.is_file() and self.path.stat().st_mtime_ns != self._mtime:
            self._mtime = self.path.stat().st_mtime_ns
            self.steps.append(torch.load(self.path, weights_only=True)["global_step"])


def test_mid_epoch_saves_once_per_optimizer_step_under_accumulation(tmp_path):
    saves = RecordSaves(tmp_path / "last.ckpt")
    trainer = L.Trainer(
        max_epochs=1, accumulate_grad_batches=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        limit_val_batches=0, callbacks=[LastCheckpoint(str(tmp_path), every_n_train_steps=2), saves],
    )  # fmt: skip
    data = SyntheticDataModule(num_samples=250, num_features=6, num_channels=4, batch_size=16)
    trainer.fit(small_classifier(), datamodule=data)  # 200 training rows: 13 batches, 6 optimizer steps
    assert saves.steps == [2, 4, 6]  # not at step 0, never twice at one step, never mid-accumulation
