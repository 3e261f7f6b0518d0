"""`optimization_results.yaml`: the best trial, how to run it again, and every trial's outcome."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import TrialState

from multiout.hparams_search.study import JOB_DIR, OVERRIDES


def reproduce_command(overrides: Sequence[str]) -> str:
    """`python train.py <overrides> hydra.mode=RUN`: the trial's run alone, in a new run dir
    (`hparams_search=optuna` among the overrides would otherwise start a sweep again)."""
    return shlex.join(["python", "train.py", *overrides, "hydra.mode=RUN"])


def study_results(study: optuna.Study) -> dict[str, Any]:
    """The best completed trial (none yet: null entries) and each trial's number, state and value."""
    trials = study.get_trials(deepcopy=False)
    completed = [t for t in trials if t.state == TrialState.COMPLETE]
    best = study.best_trial if completed else None
    return {
        "name": "optuna",
        "study_name": study.study_name,
        "best_params": best.params if best else None,
        "best_value": best.value if best else None,
        "best_trial": best.number if best else None,
        "best_job_dir": best.user_attrs.get(JOB_DIR) if best else None,
        "reproduce": reproduce_command(best.user_attrs.get(OVERRIDES, [])) if best else None,
        "trials": [{"number": t.number, "state": t.state.name, "value": t.value} for t in trials],
    }
