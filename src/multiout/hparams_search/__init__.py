"""Hyperparameter search with Optuna: the search space, the study's storage and its results.

The Hydra sweeper in `hydra_plugins/multiout_optuna_sweeper` asks, launches and tells; the
pruning callback in `callbacks/optuna_pruning.py` reports each epoch of a job to its trial.
"""
