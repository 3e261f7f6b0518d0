"""The template's Hydra sweeper for Optuna: `hydra/sweeper=optuna` (see conf/hparams_search/optuna.yaml).

Hydra finds it by scanning the `hydra_plugins` namespace package. It needs the `optuna`
extra only when a sweep runs: the modules Hydra scans import Optuna lazily.
"""
