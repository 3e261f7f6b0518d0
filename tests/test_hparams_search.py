"""A two-trial Optuna sweep runs, writes its best trial, and compare_runs reads it back."""

import csv
import json

import pytest
from omegaconf import OmegaConf

from tests.helpers import run_script

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the optuna extra")

SEARCHED = {"model.optimizer.lr", "search.width", "search.depth", "model.net.dropout", "data.batch_size"}


@pytest.mark.slow
def test_two_trial_optuna_sweep_writes_the_best_trial(tmp_path):
    sweep_dir = tmp_path / "sweep"
    overrides = ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={sweep_dir}"]
    result = run_script(
        "train.py",
        *overrides,
        "data.num_samples=2000",
        "trainer.max_epochs=1",
        "print_config=false",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    best = OmegaConf.to_container(OmegaConf.load(sweep_dir / "optimization_results.yaml"))
    trials = {d.name: json.loads((d / "metrics.json").read_text()) for d in sweep_dir.iterdir() if d.is_dir()}
    assert sorted(trials) == ["0", "1"]
    best_trial = max(trials, key=lambda name: trials[name]["val/acc"])
    assert best["best_value"] == pytest.approx(trials[best_trial]["val/acc"])
    assert set(best["best_params"]) == SEARCHED
    ran_with = OmegaConf.load(sweep_dir / best_trial / ".hydra" / "overrides.yaml")
    for key, value in best["best_params"].items():
        assert f"{key}={value}" in ran_with
    # The trunk got `depth` layers of `width` units.
    config = OmegaConf.load(sweep_dir / best_trial / ".hydra" / "config.yaml")
    OmegaConf.register_new_resolver("repeat", lambda v, n: [v] * n, replace=True)
    hidden = [best["best_params"]["search.width"]] * best["best_params"]["search.depth"]
    assert config.model.net.hidden_sizes == hidden

    # compare_runs lists the trials best first.
    result = run_script("scripts/compare_runs.py", str(sweep_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 runs, 2 configurations" in result.stdout
    with (sweep_dir / "compare_runs.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["dirs"] == best_trial
