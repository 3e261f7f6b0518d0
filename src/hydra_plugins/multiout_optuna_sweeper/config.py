"""The sweeper's config, registered as `hydra/sweeper=optuna`; every key is documented here."""

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.multiout_optuna_sweeper.sweeper.OptunaSweeper"
    # An Optuna sampler as a `_target_` dict (e.g. optuna.samplers.TPESampler); null: TPE.
    # Its `seed` holds for a new study's first launch; a continued study reseeds it at
    # random, so that it does not repeat the trials of its first launch.
    sampler: Any = None
    # An Optuna pruner as a `_target_` dict: hydra/sweeper/pruner=median, hyperband or
    # successive_halving (conf/hydra/sweeper/pruner/); null: no pruning.
    pruner: Any = None
    direction: str = "minimize"  # or maximize: what to do with `optimized_metric`
    # An Optuna storage URL (sqlite:///..., postgresql://...) or a journal file's path;
    # null: <sweep dir>/optuna_journal.log. With the same storage and study_name, a launch
    # continues the study and several launches at once share it.
    storage: str | None = None
    study_name: str | None = None
    # Trials this launch adds to the study (trials of earlier launches do not count).
    n_trials: int = 20
    # Trials asked at once and launched as one batch through the Hydra launcher.
    n_jobs: int = 1
    # Hydra's sweep syntax per key: interval(a, b), tag(log, interval(a, b)), range(a, b),
    # choice(...); a plain value fixes the key.
    params: dict[str, str] | None = None
    # Seconds between the "alive" stamps of a running trial; a RUNNING trial without a
    # stamp for `grace_period` seconds is taken as left by a dead process and marked FAIL.
    heartbeat_interval: int = 60
    grace_period: int = 300


ConfigStore.instance().store(
    group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="multiout"
)
