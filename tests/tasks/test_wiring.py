"""The wiring between parts that are each correct: what a fork most easily breaks.

Each test runs real objects (a real `Trainer`, real files) and checks an outcome against an
independent computation, so that a one-line slip in how the parts are connected fails here.
"""

from __future__ import annotations

import json
import os  # part: faults
import signal  # part: faults

import numpy as np
import pandas as pd  # part: tables
import pytest
import torch
import torch.nn.functional as F
from lightning import Callback
from lightning.pytorch.utilities.exceptions import SIGTERMException  # part: faults
from sklearn.utils.class_weight import compute_class_weight

from multiout.callbacks.prediction_writer import PredictionCSVWriter  # part: tables
from multiout.data.stream.datamodule import StreamDataModule  # part: stream
from multiout.data.tables.datamodule import TabularDataModule  # part: tables
from multiout.metrics.results import EvalMetrics
from multiout.runtime.build import build, build_model, build_trainer, data_spec
from multiout.runtime.faults.last_checkpoint import LastCheckpoint  # part: faults
from multiout.runtime.faults.sigterm import SigtermAtStepEnd  # part: faults
from multiout.tasks.train import train
from tests.data.stream_files import write_dataset  # part: stream
from tests.helpers import InMemoryData, compose_train, quiet_trainer, small_classifier

QUIET = [
    "callbacks.rich_progress_bar=null",
    "callbacks.rich_model_summary=null",
    "logger=none",
    "trainer.enable_progress_bar=false",
    "callbacks.per_channel_report.figures=false",  # part: figures
]


def imbalanced(n: int = 96, channels: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    y = torch.multinomial(torch.tensor([0.7, 0.2, 0.1]), n * channels, replacement=True, generator=g)
    return x, y.view(n, channels)


def test_balanced_class_weights_reach_the_training_loss(tmp_path):
    x, y = imbalanced()
    data = InMemoryData(x, y)
    model = small_classifier(data=data.data_spec().to_dict(), class_weights="balanced")
    quiet_trainer(tmp_path, fast_dev_run=True).fit(model, datamodule=data)
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss, _ = model.loss(logits, y)
    numerator = denominator = 0.0  # by hand: sklearn's balanced weights, per channel
    for c in range(3):
        weight = torch.tensor(compute_class_weight("balanced", classes=np.arange(3), y=y[:, c].numpy()))
        numerator += F.cross_entropy(logits[:, :, c], y[:, c], weight=weight.float(), reduction="sum")
        denominator += weight[y[:, c]].sum()
    assert loss.item() == pytest.approx(float(numerator / denominator), rel=1e-5)
    assert loss.item() != pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-3)


class SpoilLastValidation(Callback):
    """Scrambles the head as the last epoch's validation starts, so last.ckpt scores worst;
    records each epoch's val/acc."""

    def __init__(self) -> None:
        self.scores: list[float] = []

    def on_validation_start(self, trainer, pl_module):
        if trainer.current_epoch == trainer.max_epochs - 1 and not trainer.sanity_checking:
            with torch.no_grad():
                pl_module.head.weight.mul_(-5.0)

    def on_validation_end(self, trainer, pl_module):
        if trainer.state.fn == "fit" and not trainer.sanity_checking:
            self.scores.append(float(trainer.callback_metrics["val/acc"]))


def test_metrics_json_scores_the_best_checkpoint_not_the_last(tmp_path):
    cfg = compose_train("trainer.max_epochs=3", "data.num_samples=1500", "data.num_channels=4", *QUIET,
                        "callbacks.early_stopping=null", output_dir=tmp_path)  # fmt: skip
    datamodule = build(cfg.data)
    spoiler = SpoilLastValidation()
    trainer = build_trainer(cfg, extra_callbacks=[spoiler])
    metrics = train(trainer, build_model(cfg.model, data_spec(datamodule, cfg.data)), datamodule)
    best = trainer.checkpoint_callback
    assert metrics["ckpt_path"] == best.best_model_path != best.last_model_path
    assert len(spoiler.scores) == 3 and spoiler.scores[-1] < max(spoiler.scores) - 0.05
    assert metrics["val/acc"] == pytest.approx(max(spoiler.scores), abs=1e-6)  # re-validated: the best


# part: faults
def test_the_default_trainer_writes_checkpoints_atomically(tmp_path, monkeypatch):
    cfg = compose_train(*QUIET, output_dir=tmp_path)
    trainer = build_trainer(cfg)
    trainer.strategy.connect(small_classifier())
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    before = path.read_bytes()

    def torn_save(obj, f, *args, **kwargs):  # a kill half-way through writing
        with open(f, "wb") as out:
            out.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left


# end part


# part: tables
def write_rows(path, n: int, label_values: list) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"key": [f"row{i}" for i in range(n)], "f0": rng.normal(size=n), "f1": rng.normal(size=n)}
    )
    for name in ("y_a", "y_b"):
        frame[name] = rng.choice(np.array(label_values, dtype=object), size=n)
    frame.to_csv(path, index=False)
    return frame


def test_predictions_keep_their_row_ids_across_batches(tmp_path):
    frame = write_rows(tmp_path / "rows.csv", 300, [-1, 0, 1])
    data = TabularDataModule(predict_path=str(tmp_path / "rows.csv"), target_columns=["y_a", "y_b"],
                             feature_columns=["f0", "f1"], id_column="key", batch_size=64)  # fmt: skip
    data.setup("predict")
    model = small_classifier(num_features=2, num_channels=2)
    writer = PredictionCSVWriter(
        tmp_path / "p.csv", ["y_a", "y_b"], [[-1, 0, 1]] * 2, data.predict_ids, "key"
    )
    quiet_trainer(tmp_path, callbacks=[writer]).predict(model, datamodule=data, return_predictions=False)
    written = pd.read_csv(tmp_path / "p.csv")
    assert written["key"].tolist() == frame["key"].tolist()  # 5 batches, each with its own ids


def test_labels_in_any_order_map_to_their_position_and_back(tmp_path):
    label_values = [1, 0, -1]  # down the list: class ids 0, 1, 2
    frame = write_rows(tmp_path / "rows.csv", 50, label_values)
    data = TabularDataModule(train_path=str(tmp_path / "rows.csv"), target_columns=["y_a", "y_b"],
                             feature_columns=["f0", "f1"], label_values=label_values)  # fmt: skip
    data.setup("fit")
    expected = torch.tensor(
        [[label_values.index(v) for v in row] for row in frame[["y_a", "y_b"]].to_numpy()]
    )
    assert torch.equal(data.splits["train"][1], expected)
    # Back: a prediction of class id k is written as label_values[k].
    writer = PredictionCSVWriter(tmp_path / "p.csv", ["y_a", "y_b"], [label_values] * 2)
    probs = F.one_hot(expected, 3).permute(0, 2, 1).float()  # [B, K, C], certain of the true class
    table = writer._table(probs)
    assert table.column("y_a").to_pylist() == frame["y_a"].tolist()


# end part


# part: stream
def test_streamed_predictions_keep_the_ids_each_batch_carries(tmp_path):
    frame = write_dataset(tmp_path / "new")  # 110 rows in 5 files of uneven row groups
    data = StreamDataModule(predict_path=str(tmp_path / "new"), target_columns=["y_a", "y_b", "y_c"],
                            feature_columns=["row", "f1", "f2"], id_column="key", batch_size=16)  # fmt: skip
    data.setup("predict")
    writer = PredictionCSVWriter(
        tmp_path / "p.csv", ["y_a", "y_b", "y_c"], [[-1, 0, 1]] * 3, data.predict_ids, "key"
    )
    model = small_classifier(num_features=3, num_channels=3)
    quiet_trainer(tmp_path, callbacks=[writer]).predict(model, datamodule=data, return_predictions=False)
    written = pd.read_csv(tmp_path / "p.csv")
    assert list(written.columns) == ["key", "y_a", "y_b", "y_c"]
    assert written["key"].tolist() == frame["key"].tolist()  # 7 batches, ids read with their rows


# end part


def test_the_mean_accuracy_leaves_out_a_channel_without_labels():
    logits = torch.randn(40, 3, 4, generator=torch.Generator().manual_seed(0))
    target = torch.randint(0, 3, (40, 4), generator=torch.Generator().manual_seed(1))
    target[:, 2] = -100  # channel 2 has no labels in this split
    metrics = EvalMetrics(4, 3)
    metrics.update(logits, target, torch.tensor(1.0), torch.tensor(120))
    result = metrics.compute()
    by_channel = [(logits[:, :, c].argmax(1) == target[:, c]).double().mean().item() for c in (0, 1, 3)]
    assert result.means()["acc"] == pytest.approx(sum(by_channel) / 3)
    assert json.dumps(result.flat("val")["val/acc"])  # a number, not NaN


# part: faults
class RecordRows(Callback):
    """The first feature of every training row, batch by batch: which rows were trained on."""

    def __init__(self) -> None:
        self.batches: list[list[float]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.batches.append(batch[0][:, 0].tolist())


def test_a_mid_epoch_checkpoint_resumes_with_the_batches_after_it(tmp_path):
    x = torch.arange(160, dtype=torch.float32).repeat(6, 1).T.contiguous()  # row i: features all i
    y = torch.randint(0, 3, (160, 2), generator=torch.Generator().manual_seed(0))
    data = lambda: InMemoryData(x, y, batch_size=16)  # noqa: E731 - 10 shuffled batches an epoch
    data_kwargs = {"max_epochs": 1, "limit_val_batches": 0, "num_sanity_val_steps": 0}
    whole = RecordRows()
    quiet_trainer(tmp_path / "whole", callbacks=[whole], **data_kwargs).fit(
        small_classifier(num_channels=2), datamodule=data()
    )
    saver = LastCheckpoint(str(tmp_path / "ckpt"), every_n_train_steps=4)
    stopped = quiet_trainer(tmp_path / "stopped", callbacks=[saver], max_steps=4, **data_kwargs)
    stopped.fit(small_classifier(num_channels=2), datamodule=data())
    resumed = RecordRows()
    trainer = quiet_trainer(tmp_path / "resumed", callbacks=[resumed], **data_kwargs)
    trainer.fit(
        small_classifier(num_channels=2), datamodule=data(), ckpt_path=tmp_path / "ckpt" / "last.ckpt"
    )
    assert resumed.batches == whole.batches[4:]  # the same rows, in the same batches


def test_sigterm_in_one_process_saves_last_ckpt_after_the_step_it_came_in(tmp_path):
    class SignalAtBatch(Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if batch_idx == 2:
                os.kill(os.getpid(), signal.SIGTERM)

    x, y = imbalanced(n=160, channels=2)
    callbacks = [SigtermAtStepEnd(), LastCheckpoint(str(tmp_path)), SignalAtBatch()]
    trainer = quiet_trainer(tmp_path, callbacks=callbacks, max_epochs=1, limit_val_batches=0)
    with pytest.raises(SIGTERMException):
        trainer.fit(small_classifier(num_channels=2), datamodule=InMemoryData(x, y, batch_size=16))
    saved = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 3  # batches 0, 1 and 2 trained; nothing after the signal
    batches_done = saved["InMemoryData"]["train_sampler"]["batches_done"]
    assert batches_done == 3


# end part
