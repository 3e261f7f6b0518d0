"""Storages by URL or path, and which RUNNING trials count as left by a dead process."""

import time

import pytest

optuna = pytest.importorskip("optuna", reason="needs the optuna extra")

from optuna.storages import JournalStorage, RDBStorage  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from multiout.hparams_search.study import HEARTBEAT, fail_stale_trials, heartbeat, job_trial, open_storage  # noqa: E402


def test_a_url_is_a_database_and_a_path_a_journal(tmp_path):
    assert isinstance(open_storage(f"sqlite:///{tmp_path / 'study.db'}"), RDBStorage)
    journal = tmp_path / "new" / "optuna_journal.log"
    assert isinstance(open_storage(str(journal)), JournalStorage)
    assert journal.parent.is_dir()


def test_only_trials_silent_past_the_grace_period_fail(tmp_path):
    study = optuna.create_study(storage=open_storage(str(tmp_path / "j.log")), study_name="s")
    now = time.time()
    alive, silent, finished = study.ask(), study.ask(), study.ask()
    alive.set_user_attr(HEARTBEAT, now - 10)
    silent.set_user_attr(HEARTBEAT, now - 100)
    finished.set_user_attr(HEARTBEAT, now - 100)
    study.tell(finished, 1.0)

    assert fail_stale_trials(study, grace_period_s=50) == [silent.number]
    states = {t.number: t.state for t in study.trials}
    assert states == {
        alive.number: TrialState.RUNNING,
        silent.number: TrialState.FAIL,
        finished.number: TrialState.COMPLETE,
    }


def test_a_trial_without_heartbeat_counts_from_its_start(tmp_path):
    study = optuna.create_study(storage=open_storage(str(tmp_path / "j.log")), study_name="s")
    trial = study.ask()
    assert fail_stale_trials(study, grace_period_s=60) == []
    assert fail_stale_trials(study, grace_period_s=-1) == [trial.number]


def test_the_heartbeat_stamps_while_the_block_runs(tmp_path):
    study = optuna.create_study(storage=open_storage(str(tmp_path / "j.log")), study_name="s")
    trial = study.ask()
    before = time.time()
    with heartbeat([trial], interval_s=0.05):
        time.sleep(0.3)
    stamped = study.trials[0].user_attrs[HEARTBEAT]
    assert before <= stamped <= time.time()
    assert stamped - before > 0.1  # stamped again after the first beat


def test_a_job_without_pruner_never_prunes(tmp_path):
    storage = str(tmp_path / "j.log")
    study = optuna.create_study(storage=open_storage(storage), study_name="s", direction="maximize")
    for value in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0):  # a median pruner would prune a 0 after these
        study.enqueue_trial({})
        done = study.ask()
        done.report(value, step=0)
        study.tell(done, value)
    trial = job_trial(storage, "s", study.ask().number, pruner=None)
    trial.report(0.0, step=0)
    assert not trial.should_prune()
