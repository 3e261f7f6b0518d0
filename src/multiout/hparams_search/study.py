"""Where a study lives, how a job finds its trial, and what becomes of trials whose process died.

A storage is a URL that Optuna's `RDBStorage` accepts (`sqlite:///...`, `postgresql://...`)
or else the path of a journal file: an append-only log that several processes on one
machine, or on a shared file system, can use at once without a database server.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import optuna
from optuna.pruners import NopPruner
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, Trial, TrialState

log = logging.getLogger(__name__)

# Trial user attributes the sweeper writes: when its process last said it is alive (seconds
# since the epoch), the job's run dir and the overrides it ran with.
HEARTBEAT = "heartbeat"
JOB_DIR = "job_dir"
OVERRIDES = "overrides"
# Written by a job that the pruner stopped: the epoch it stopped after.
PRUNED_AT_EPOCH = "pruned_at_epoch"


def open_storage(storage: str) -> BaseStorage:
    """An RDB storage for a URL (`<dialect>://...`), a journal file storage for a path."""
    if "://" in storage:
        return RDBStorage(storage)
    Path(storage).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(storage))


def job_trial(storage: str, study_name: str, number: int, pruner: optuna.pruners.BasePruner | None) -> Trial:
    """Trial `number` of the study, as a job sees it: it reports to it and asks `pruner`
    (None: never prune; Optuna's own default would be a median pruner)."""
    backend = open_storage(storage)
    study = optuna.load_study(study_name=study_name, storage=backend, pruner=pruner or NopPruner())
    study_id = backend.get_study_id_from_name(study_name)
    return Trial(study, backend.get_trial_id_from_study_id_trial_number(study_id, number))


def trial_by_number(study: optuna.Study, number: int) -> FrozenTrial:
    """The trial as the storage holds it now, with what its job wrote."""
    return next(t for t in study.get_trials(deepcopy=False) if t.number == number)


@contextmanager
def heartbeat(trials: Sequence[Trial], interval_s: float) -> Iterator[None]:
    """While the block runs, stamp each trial every `interval_s` seconds: the sign that its
    process is alive, which `fail_stale_trials` looks for."""
    stop = threading.Event()

    def beat() -> None:
        while True:
            try:
                for trial in trials:
                    trial.set_user_attr(HEARTBEAT, time.time())
            except Exception as err:  # a busy database: the next beat may get through
                log.warning(f"heartbeat of trials {[t.number for t in trials]} not recorded: {err}")
            if stop.wait(interval_s):
                return

    thread = threading.Thread(target=beat, name="optuna-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def fail_stale_trials(study: optuna.Study, grace_period_s: float) -> list[int]:
    """Mark FAIL each RUNNING trial whose last heartbeat (or start, if it never had one) is
    older than `grace_period_s`: its process died without telling. Returns their numbers."""
    now = time.time()
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        started = trial.datetime_start or datetime.now()
        last_seen = float(trial.user_attrs.get(HEARTBEAT, started.timestamp()))
        if now - last_seen > grace_period_s:
            try:
                study.tell(trial.number, state=TrialState.FAIL)
            except (ValueError, RuntimeError):  # another worker failed it first
                continue
            failed.append(trial.number)
    return failed
