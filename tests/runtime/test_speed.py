"""The speed tricks change nothing that a user sees, and notice when Lightning changes."""

from __future__ import annotations

import ast
import csv
import inspect
import textwrap

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.profilers import SimpleProfiler

from multiout.data.synthetic import SyntheticDataModule
from multiout.models.classifier import MultiOutputClassifier
from tests.helpers import quiet_trainer, small_classifier


class PlainLogging(MultiOutputClassifier):
    """The classifier with Lightning's own `log`/`log_dict`, as without `LeanHooks`."""

    def log(self, *args, **kwargs):
        return L.LightningModule.log(self, *args, **kwargs)

    def log_dict(self, *args, **kwargs):
        return L.LightningModule.log_dict(self, *args, **kwargs)


def logged_rows(model: MultiOutputClassifier, tmp_path, name: str) -> list[dict[str, str]]:
    torch.manual_seed(0)
    data = SyntheticDataModule(num_samples=600, num_features=6, num_channels=4, batch_size=32)
    trainer = quiet_trainer(
        tmp_path, max_epochs=2, log_every_n_steps=3, limit_val_batches=2,
        logger=CSVLogger(tmp_path, name=name, version=""),
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    with open(tmp_path / name / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_thinned_step_logging_writes_exactly_what_lightning_writes(tmp_path):
    hparams = dict(small_classifier().hparams)
    torch.manual_seed(1)
    lean = logged_rows(MultiOutputClassifier(**hparams), tmp_path, "lean")
    torch.manual_seed(1)
    plain = logged_rows(PlainLogging(**hparams), tmp_path, "plain")
    assert lean == plain
    steps = [int(row["step"]) for row in lean if row.get("train/loss_step")]
    assert steps == list(range(2, 30, 3))  # every 3rd of 2 epochs x 15 steps


def test_step_logs_reach_lightning_only_on_logging_steps(tmp_path, monkeypatch):
    calls = []
    real_log = L.LightningModule.log
    monkeypatch.setattr(L.LightningModule, "log", lambda self, name, *a, **k: calls.append(name) or real_log(self, name, *a, **k))  # fmt: skip
    data = SyntheticDataModule(num_samples=400, num_features=6, num_channels=4, batch_size=32)  # 10 steps
    trainer = quiet_trainer(tmp_path, max_epochs=1, log_every_n_steps=5, limit_val_batches=0)
    trainer.fit(small_classifier(), datamodule=data)
    assert calls.count("train/loss_step") == 2  # steps 5 and 10 of 10
    assert trainer.callback_metrics["train/loss_step"].isfinite()


def test_hook_names_are_stored_without_the_generic_module_setattr(monkeypatch, tmp_path):
    names = []
    generic = torch.nn.Module.__setattr__

    def recording(module, name, value):
        names.append(name)
        generic(module, name, value)

    monkeypatch.setattr(torch.nn.Module, "__setattr__", recording)
    data = SyntheticDataModule(num_samples=200, num_features=6, num_channels=4, batch_size=32)
    trainer = quiet_trainer(tmp_path, fast_dev_run=True)
    trainer.fit(small_classifier(), datamodule=data)
    assert "_current_fx_name" not in names and "trainer" in names  # the rest goes through
    # Lightning reads the hook name to route `self.log`: the step's and epoch's values were logged.
    assert {"train/loss_step", "train/acc_epoch", "val/acc"} <= set(trainer.callback_metrics)


@pytest.mark.parametrize("hook", ["training_step", "on_train_epoch_end"])
def test_lightning_still_names_the_running_hook(tmp_path, hook):
    seen = []

    class Spy(MultiOutputClassifier):
        def training_step(self, batch, batch_idx):
            seen.append(self._current_fx_name)
            return super().training_step(batch, batch_idx)

        def on_train_epoch_end(self):
            seen.append(self._current_fx_name)
            super().on_train_epoch_end()

    data = SyntheticDataModule(num_samples=200, num_features=6, num_channels=4, batch_size=32)
    trainer = quiet_trainer(tmp_path, fast_dev_run=True)
    trainer.fit(Spy(**small_classifier().hparams), datamodule=data)
    assert hook in seen


def test_each_logged_tensor_is_converted_to_a_number_once_while_unchanged():
    from bench.host_reads import HostReadCounter, _CountingMode

    from multiout.runtime import speed

    speed.share_scalar_conversions()
    from lightning.pytorch.trainer.connectors.logger_connector import logger_connector, result

    # Where Lightning converts logged values: if these calls move, the trick no longer applies.
    assert "convert_tensors_to_scalars(value)" in inspect.getsource(result._ResultCollection.metrics)
    log_metrics = inspect.getsource(logger_connector._LoggerConnector.log_metrics)
    assert "convert_tensors_to_scalars(metrics)" in log_metrics
    assert result.convert_tensors_to_scalars == speed._MEMO.convert
    assert logger_connector.convert_tensors_to_scalars == speed._MEMO.convert
    counter = HostReadCounter()
    value = torch.tensor(2.5)
    with _CountingMode(counter):
        first = [result.convert_tensors_to_scalars({"a": value.detach()}) for _ in range(3)]
        value.add_(1)  # changed in place: read again
        changed = result.convert_tensors_to_scalars({"a": value.detach()})
        other = result.convert_tensors_to_scalars([torch.tensor(7)])
    assert first == [{"a": 2.5}] * 3 and changed == {"a": 3.5} and other == [7]
    assert counter.reads == 3
    with pytest.raises(ValueError, match="does not contain a single element"):
        result.convert_tensors_to_scalars({"a": torch.ones(2)})


def test_scalar_conversions_are_shared_from_the_start_of_a_fit_not_from_building_a_model(
    tmp_path, monkeypatch
):
    from lightning.fabric.utilities.apply_func import convert_tensors_to_scalars
    from lightning.pytorch.trainer.connectors.logger_connector import logger_connector, result

    from multiout.runtime import speed

    for module in (result, logger_connector):  # as in a process that has not fitted yet
        monkeypatch.setattr(module, "convert_tensors_to_scalars", convert_tensors_to_scalars)
    model = small_classifier()
    assert result.convert_tensors_to_scalars is convert_tensors_to_scalars
    assert logger_connector.convert_tensors_to_scalars is convert_tensors_to_scalars
    data = SyntheticDataModule(num_samples=200, num_features=6, num_channels=4, batch_size=32)
    quiet_trainer(tmp_path, fast_dev_run=True).fit(model, datamodule=data)
    assert result.convert_tensors_to_scalars == speed._MEMO.convert
    assert logger_connector.convert_tensors_to_scalars == speed._MEMO.convert


class HookRecorder(L.Callback):
    """Records the hooks it implements; `Callback`'s other hooks stay its empty ones."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name, self.calls = name, calls

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.calls.append(f"{self.name}.batch_start.{pl_module._current_fx_name}")

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        self.calls.append(f"{self.name}.before_optimizer_step")

    def on_train_epoch_end(self, trainer, pl_module):
        self.calls.append(f"{self.name}.epoch_end")


def hook_calls(tmp_path, patched: bool, profiler=None) -> list[str]:
    from lightning.pytorch.trainer import call

    from multiout.runtime import speed

    calls: list[str] = []
    data = SyntheticDataModule(num_samples=200, num_features=6, num_channels=4, batch_size=32)
    callbacks = [HookRecorder("a", calls), L.Callback(), HookRecorder("b", calls)]
    lambda_hook = L.pytorch.callbacks.LambdaCallback(on_train_epoch_end=lambda t, m: calls.append("lambda"))
    trainer = quiet_trainer(
        tmp_path, max_epochs=2, limit_val_batches=0, callbacks=[*callbacks, lambda_hook],
        profiler=profiler or speed.NoProfiler(),
    )  # fmt: skip
    call._call_callback_hooks = speed._LIGHTNING_CALLBACK_HOOKS
    if not patched:  # as without `LeanHooks`: Lightning's own dispatch for the whole fit
        trainer.fit(PlainDispatch(**small_classifier().hparams), datamodule=data)
        return calls
    trainer.fit(small_classifier(), datamodule=data)
    assert call._call_callback_hooks is speed._call_overriding_callbacks
    return calls


class PlainDispatch(MultiOutputClassifier):
    def on_fit_start(self) -> None:
        L.LightningModule.on_fit_start(self)


def test_a_hook_reaches_the_callbacks_that_implement_it_as_with_lightnings_dispatch(tmp_path):
    from lightning.pytorch.trainer import call

    from multiout.runtime import speed

    # The function replaced: if its signature or loop changes, the trick must be looked at again.
    # Skipping `Callback`'s own hooks is right only while each does nothing.
    for name, hook in vars(L.Callback).items():
        if name.startswith("on_") or name in ("setup", "teardown"):
            body = ast.parse(textwrap.dedent(inspect.getsource(hook))).body[0].body
            assert all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in body), name  # fmt: skip
    assert str(inspect.signature(speed._LIGHTNING_CALLBACK_HOOKS)) == (
        "(trainer: 'pl.Trainer', hook_name: str, *args: Any, "
        "monitoring_callbacks: Optional[bool] = None, **kwargs: Any) -> None"
    )
    assert "fn(trainer, trainer.lightning_module, *args, **kwargs)" in inspect.getsource(
        speed._LIGHTNING_CALLBACK_HOOKS
    )
    try:
        lean = hook_calls(tmp_path / "lean", patched=True)
        plain = hook_calls(tmp_path / "plain", patched=False)
        profiled = hook_calls(tmp_path / "profiled", patched=True, profiler=SimpleProfiler())
    finally:
        call._call_callback_hooks = speed._LIGHTNING_CALLBACK_HOOKS
    # 2 epochs of 5 training batches (160 training rows): every call, in order, the hook name set.
    assert lean == plain == profiled
    assert lean.count("a.batch_start.on_train_batch_start") == 10
    assert lean[-3:] == ["a.epoch_end", "b.epoch_end", "lambda"]
    assert lean.count("b.before_optimizer_step") == 10
