"""Training steps never wait on the device: host reads only on logging steps and at epoch ends.

Counted on a CPU, where the same calls happen as on a GPU (where each one would make the CPU
wait for the queued kernels): `bench.host_reads.HostReadCounter`.
"""

from __future__ import annotations

import lightning as L
import torch
from bench.host_reads import HostReadCounter

from multiout.data.synthetic import SyntheticDataModule
from tests.helpers import quiet_trainer, small_classifier

# The default config, small: 2 epochs of 25 steps, 5 of them logging steps per epoch.
SMALL = [
    "data.num_samples=2000",
    "data.batch_size=64",
    "trainer.max_epochs=2",
    "trainer.log_every_n_steps=5",
    "trainer.accelerator=cpu",
]


# part: speed
def test_default_training_reads_the_host_only_on_logging_steps_and_epoch_ends(tmp_path):
    from bench.host_reads import count_training_reads

    counted = count_training_reads(SMALL, tmp_path, where=False)
    assert counted["steps"] == 50 and counted["logged_steps"] == 10 and counted["epochs"] == 2
    assert counted["reads_on_quiet_steps"] == 0, counted
    assert counted["host_reads"] <= 3 * 10 + 10 * 2, counted


# end part


class ReadsEveryThirdStep(L.Callback):
    """`.item()` of the loss on every third step: what the counter must see, step by step."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if batch_idx % 3 == 0:
            outputs["loss"].item()
            bool(outputs["loss"] > 0)


def reads_per_step(tmp_path, callbacks: list[L.Callback]) -> tuple[dict[int, int], HostReadCounter]:
    counter = HostReadCounter(where=True)
    data = SyntheticDataModule(num_samples=500, num_features=6, num_channels=4, batch_size=32)  # 13 steps
    trainer = quiet_trainer(
        tmp_path, max_epochs=1, limit_val_batches=0, log_every_n_steps=0, callbacks=[counter, *callbacks]
    )
    torch.manual_seed(0)
    # Fused: the per-tensor AdamW reads each parameter's step count, a CPU tensor, every step.
    model = small_classifier(optimizer={"_target_": "torch.optim.AdamW", "lr": 1e-3, "fused": True})
    trainer.fit(model, datamodule=data)
    return {step["step"]: step["reads"] for step in counter.steps}, counter


def test_the_counter_counts_each_read_in_its_step(tmp_path):
    without, _ = reads_per_step(tmp_path / "without", [])
    reads, counter = reads_per_step(tmp_path / "with", [ReadsEveryThirdStep()])
    # The callback above runs after the counter has started, at the end of step 0: its reads
    # come on top of the run's own, in the steps it reads in.
    assert {step: reads[step] - without[step] for step in reads} == {
        step: 2 * (step % 3 == 0) for step in range(13)
    }
    assert sum(counter.sources.values()) == counter.reads
    assert any("test_host_reads.py" in source for source in counter.sources)
