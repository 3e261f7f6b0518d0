"""The sweep: ask the study for trials, launch them as Hydra jobs, tell it how each ended."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from multiout.errors import InputError, exit_on_input_error

if TYPE_CHECKING:  # Optuna is an optional extra: imported when a sweep runs, not when Hydra scans plugins
    import optuna

log = logging.getLogger(__name__)

JOURNAL = "optuna_journal.log"
RESULTS = "optimization_results.yaml"
# The config key through which a job learns its trial (conf/hparams_search/optuna.yaml).
TRIAL_KEY = "optuna_trial"


class OptunaSweeper(Sweeper):
    """`hydra/sweeper=optuna`: the keys are those of `config.OptunaSweeperConf`."""

    def __init__(
        self,
        sampler: optuna.samplers.BaseSampler | None,
        pruner: optuna.pruners.BasePruner | None,
        direction: str,
        storage: str | None,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        params: dict[str, str] | None,
        heartbeat_interval: int,
        grace_period: int,
    ) -> None:
        self.sampler, self.pruner, self.direction = sampler, pruner, direction
        self.storage, self.study_name = storage, study_name
        self.n_trials, self.n_jobs = n_trials, n_jobs
        self.params = dict(params or {})
        self.heartbeat_interval, self.grace_period = heartbeat_interval, grace_period

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.sweep_config = config
        self.launcher: Launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    def sweep(self, arguments: list[str]) -> None:
        with exit_on_input_error():
            self._check()
            self._sweep(arguments)

    def _check(self) -> None:
        if self.direction not in ("minimize", "maximize"):
            raise InputError(
                f"hydra.sweeper.direction: expected minimize or maximize, got {self.direction!r}"
            )
        if isinstance(self.pruner, str):  # a name typed where the group is meant
            raise InputError(
                f"hydra.sweeper.pruner={self.pruner}: pick a pruner with hydra/sweeper/pruner={self.pruner} "
                "(median, hyperband or successive_halving: files in conf/hydra/sweeper/pruner/)"
            )
        if self.n_trials < 0 or self.n_jobs < 1:
            raise InputError(
                f"hydra.sweeper: expected n_trials >= 0 and n_jobs >= 1, got {self.n_trials} and {self.n_jobs}"
            )
        if self.grace_period <= self.heartbeat_interval:
            raise InputError(
                f"hydra.sweeper.grace_period ({self.grace_period} s) must exceed heartbeat_interval "
                f"({self.heartbeat_interval} s), or live trials would be taken for dead ones"
            )
        if self.sweep_config.get("optimized_metric") is None:
            raise InputError(
                "optimized_metric: a search needs the metric it optimizes, e.g. optimized_metric=val/acc"
            )

    def _sweep(self, arguments: list[str]) -> None:
        import optuna

        from multiout.hparams_search.space import search_space, trial_overrides
        from multiout.hparams_search.study import fail_stale_trials, heartbeat, open_storage

        sweep_dir = Path(self.sweep_config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.sweep_config, sweep_dir / "multirun.yaml")  # as Hydra's own sweeper does
        searched, fixed = search_space([*(f"{k}={v}" for k, v in self.params.items()), *arguments])
        storage = self.storage or str(sweep_dir / JOURNAL)
        if "://" not in storage:  # a journal file: jobs find it wherever they start
            storage = str(Path(storage).resolve())
        study = optuna.create_study(
            storage=open_storage(storage),
            study_name=self.study_name,
            direction=optuna.study.StudyDirection[self.direction.upper()],
            sampler=self.sampler,
            pruner=self.pruner or optuna.pruners.NopPruner(),  # Optuna's default is a median pruner
            load_if_exists=True,
        )
        earlier = len(study.get_trials(deepcopy=False))
        if earlier:  # a new random seed, or this launch would repeat the first one's samples
            study.sampler.reseed_rng()
        log.info(f"study {study.study_name} in {storage}: {earlier} trials so far, {self.n_trials} to add")

        launched = 0
        while launched < self.n_trials:
            for number in fail_stale_trials(study, self.grace_period):
                log.warning(f"trial {number} was left RUNNING by a process that stopped; marked FAIL")
            trials = [study.ask(searched) for _ in range(min(self.n_jobs, self.n_trials - launched))]
            jobs = [trial_overrides(trial.params, fixed) for trial in trials]
            job_keys = [self._trial_keys(storage, study.study_name, trial.number) for trial in trials]
            with _fail_if_interrupted(study, trials), heartbeat(trials, self.heartbeat_interval):
                returns = self.launcher.launch(
                    [[*job, *keys] for job, keys in zip(jobs, job_keys, strict=True)],
                    initial_job_idx=launched,
                )
            for trial, job, ret in zip(trials, jobs, returns, strict=True):
                _tell(study, trial, job, ret)
            launched += len(trials)
            _save_results(study, sweep_dir / RESULTS)  # after every batch, to follow a long search
            for ret in returns:
                _ = ret.return_value  # a failed job stops the sweep with its error, as in any multirun

        results = _save_results(study, sweep_dir / RESULTS)
        if results["best_trial"] is None:
            log.info(f"no trial has completed yet; results in {sweep_dir / RESULTS}")
        else:
            log.info(
                f"best trial {results['best_trial']}: {results['best_value']} with {results['best_params']}"
            )
            log.info(f"results in {sweep_dir / RESULTS}; rerun the best trial with: {results['reproduce']}")

    @staticmethod
    def _trial_keys(storage: str, study_name: str, number: int) -> list[str]:
        """Overrides that tell a job where its trial lives (`++`: also for a config without the key).
        Quoted, as a path or name may hold `=`, `,` or spaces."""

        def quoted(text: str) -> str:
            return "'" + text.replace("'", "\\'") + "'"

        return [
            f"++{TRIAL_KEY}.storage={quoted(storage)}",
            f"++{TRIAL_KEY}.study_name={quoted(study_name)}",
            f"++{TRIAL_KEY}.number={number}",
        ]


def _tell(study: optuna.Study, trial: optuna.Trial, overrides: list[str], ret: JobReturn) -> None:
    """COMPLETE with the job's return value, PRUNED if the job's pruning callback stopped it,
    FAIL if the job raised; the job's dir and overrides go with the trial."""
    from optuna.trial import TrialState

    from multiout.hparams_search.study import JOB_DIR, OVERRIDES, PRUNED_AT_EPOCH, trial_by_number

    if ret.hydra_cfg is not None:
        trial.set_user_attr(JOB_DIR, str(ret.hydra_cfg.hydra.runtime.output_dir))
    trial.set_user_attr(OVERRIDES, overrides)
    if ret.status != JobStatus.COMPLETED:
        study.tell(trial, state=TrialState.FAIL)
    elif PRUNED_AT_EPOCH in trial_by_number(study, trial.number).user_attrs:
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, float(ret.return_value))


def _save_results(study: optuna.Study, path: Path) -> dict[str, Any]:
    from multiout.hparams_search.results import study_results

    results = study_results(study)
    OmegaConf.save(OmegaConf.create(results), path)
    return results


@contextmanager
def _fail_if_interrupted(study: optuna.Study, trials: Sequence[optuna.Trial]) -> Iterator[None]:
    """A job that ends the process (a diverged loss, SIGTERM, Ctrl-C) fails its batch's trials
    rather than leaving them RUNNING."""
    from optuna.trial import TrialState

    try:
        yield
    except BaseException:
        for trial in trials:
            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        raise
