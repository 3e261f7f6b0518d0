"""The sweeper records each trial as its job ended: here a job that the pruner stopped."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

optuna = pytest.importorskip("optuna", reason="needs the optuna extra")

from hydra_plugins.multiout_optuna_sweeper.sweeper import JOURNAL, RESULTS  # noqa: E402
from multiout.hparams_search.study import PRUNED_AT_EPOCH, open_storage  # noqa: E402

# One trial of a tiny run; every searched value fixed but the learning rate.
TINY = [
    "data.num_samples=300", "data.batch_size=64", "search.width=8", "search.depth=1",
    "trainer.max_epochs=3", "logger=none", "print_config=false", "callbacks.per_channel_report=null",
    "callbacks.rich_model_summary=null", "callbacks.rich_progress_bar=null",
]  # fmt: skip
# val/acc never reaches 2: pruned at the first report, after epoch 0.
PRUNES_AT_ONCE = "hydra.sweeper.pruner={_target_:optuna.pruners.ThresholdPruner,lower:2.0}"


def test_a_trial_its_job_pruned_is_recorded_pruned(tmp_path, entry):
    sweep_dir = tmp_path / "sweep"
    args = ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={sweep_dir}"]
    code, stderr = entry("train", *args, *TINY, PRUNES_AT_ONCE)
    assert code == 0, stderr[-20:]
    study = optuna.load_study(study_name="train", storage=open_storage(str(sweep_dir / JOURNAL)))
    (trial,) = study.trials
    assert trial.user_attrs[PRUNED_AT_EPOCH] == 0  # the job wrote it into the study's storage
    assert list(trial.intermediate_values) == [0]  # of trainer.max_epochs=3
    assert trial.state == optuna.trial.TrialState.PRUNED  # and the sweeper read it there
    results = OmegaConf.load(sweep_dir / RESULTS)
    assert results.best_trial is None and [t.state for t in results.trials] == ["PRUNED"]
