"""The pruning callback reports each training epoch's val/acc to its trial and stops when pruned."""

import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

optuna = pytest.importorskip("optuna", reason="needs the optuna extra")
pd = pytest.importorskip("pandas")

from multiout.callbacks.optuna_pruning import OptunaPruning  # noqa: E402
from multiout.hparams_search.study import PRUNED_AT_EPOCH, open_storage  # noqa: E402
from tests.helpers import InMemoryData, quiet_trainer, small_classifier  # noqa: E402


def fit(tmp_path, callback, max_epochs=4):
    g = torch.Generator().manual_seed(0)
    data = InMemoryData(torch.randn(64, 6, generator=g), torch.randint(0, 3, (64, 4), generator=g))
    logger = CSVLogger(tmp_path, name="csv", version="")
    trainer = quiet_trainer(tmp_path, max_epochs=max_epochs, callbacks=[callback], logger=logger)
    trainer.fit(small_classifier(), datamodule=data)
    logged = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    return trainer, logged.dropna(subset=["val/acc"]).set_index("epoch")["val/acc"]


@pytest.mark.parametrize(("pruner", "epochs"), [(optuna.pruners.NopPruner(), 4), (None, 4), ("prunes", 2)])
def test_reports_every_epoch_and_stops_when_pruned(tmp_path, pruner, epochs):
    if pruner == "prunes":  # val/acc is always below 2: pruned as soon as warm-up ends, after epoch 1
        pruner = optuna.pruners.ThresholdPruner(lower=2.0, n_warmup_steps=1)
    storage = str(tmp_path / "journal.log")
    study = optuna.create_study(storage=open_storage(storage), study_name="s", direction="maximize")
    trial = study.ask()
    trainer, val_acc = fit(tmp_path, OptunaPruning("val/acc", storage, "s", trial.number, pruner))

    assert trainer.current_epoch == epochs  # epochs run
    reported = study.trials[trial.number]
    assert sorted(reported.intermediate_values) == list(range(epochs))
    for epoch, value in reported.intermediate_values.items():
        assert value == pytest.approx(val_acc[epoch])
    assert reported.user_attrs.get(PRUNED_AT_EPOCH) == (1 if epochs == 2 else None)
    assert reported.state == optuna.trial.TrialState.RUNNING  # the sweeper tells, not the job


def test_a_plain_run_reports_nowhere(tmp_path):
    storage = tmp_path / "journal.log"
    trainer, _ = fit(tmp_path, OptunaPruning("val/acc", str(storage), "s", None), max_epochs=2)
    assert trainer.current_epoch == 2
    assert not storage.exists()
