"""Optuna sweeps end to end: a study continued and shared across processes, pruning, results.

Each sweep is `python train.py -m hparams_search=optuna ...` in a subprocess, with tiny
data and a narrow trunk; what the study records is checked against the job dirs' own
files (`metrics.json`, `csv/metrics.csv`), read with pandas.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.helpers import REPO_ROOT, run_in_process, run_script

optuna = pytest.importorskip("optuna", reason="needs the optuna extra")
pd = pytest.importorskip("pandas")

from multiout.hparams_search.study import HEARTBEAT  # noqa: E402

pytestmark = pytest.mark.slow

SEARCHED = {"model.optimizer.lr", "search.width", "search.depth", "model.net.dropout", "data.batch_size"}
# Tiny runs: a narrow trunk (a command-line sweep replaces the config's range), no figures.
TINY = [
    "data.num_samples=1000",
    "search.width=choice(8,16)",
    "print_config=false",
    "callbacks.per_channel_report=null",
    "callbacks.rich_model_summary=null",
]


def sweep(cwd: Path, sweep_dir: Path, *overrides: str) -> list[str]:
    return [
        "-m",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        f"hydra.sweep.dir={sweep_dir}",
        *TINY,
        *overrides,
    ]


def run_sweep(cwd: Path, sweep_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    result = run_script("train.py", *sweep(cwd, sweep_dir, *overrides), cwd=cwd, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def load_study(storage: Path, name: str = "train") -> optuna.Study:
    backend = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(storage)))
    return optuna.load_study(study_name=name, storage=backend)


def job_dirs(*sweep_dirs: Path) -> dict[int, Path]:
    """Job dirs by name (a trial number), each required to be unique across the sweep dirs."""
    found: dict[int, Path] = {}
    for sweep_dir in sweep_dirs:
        for path in sweep_dir.iterdir():
            if path.is_dir() and path.name.isdigit():
                assert int(path.name) not in found, f"job dir {path.name} twice"
                found[int(path.name)] = path
    return found


@pytest.fixture(scope="module")
def continued(tmp_path_factory):
    """Two launches of one command on one sweep dir (so one journal); between them a trial is
    left RUNNING, as by a process killed an hour ago after asking for it."""
    root = tmp_path_factory.mktemp("continued")
    sweep_dir = root / "sweep"
    code, stderr = run_in_process(
        "train", *sweep(root, sweep_dir, "trainer.max_epochs=1")
    )  # the next one is a launch
    assert code == 0, stderr[-20:]
    dead = load_study(sweep_dir / "optuna_journal.log").ask()
    dead.set_user_attr(HEARTBEAT, time.time() - 3600)
    second = run_sweep(root, sweep_dir, "trainer.max_epochs=1")
    return root, sweep_dir, dead.number, second


def test_a_second_launch_adds_n_trials_in_new_job_dirs(continued):
    _, sweep_dir, dead, _ = continued
    study = load_study(sweep_dir / "optuna_journal.log")
    complete = [t.number for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2 * 2
    dirs = job_dirs(sweep_dir)
    assert sorted(dirs) == sorted(complete)  # one dir per trial, named by its number
    assert dead not in dirs
    for number in complete:
        metrics = json.loads((dirs[number] / "metrics.json").read_text())
        assert study.trials[number].value == pytest.approx(metrics["val/acc"])


def test_a_trial_left_running_fails_on_the_next_launch(continued):
    _, sweep_dir, dead, second = continued
    study = load_study(sweep_dir / "optuna_journal.log")
    assert study.trials[dead].state == optuna.trial.TrialState.FAIL
    assert f"trial {dead} was left RUNNING" in second.stderr + second.stdout


def test_results_name_the_best_trial_and_the_command_that_reruns_it(continued, entry):
    root, sweep_dir, _, _ = continued
    results = OmegaConf.to_container(OmegaConf.load(sweep_dir / "optimization_results.yaml"))
    val_acc = {
        n: json.loads((d / "metrics.json").read_text())["val/acc"] for n, d in job_dirs(sweep_dir).items()
    }
    best = max(sorted(val_acc), key=val_acc.__getitem__)  # on a tie the first trial, as Optuna picks
    assert results["best_trial"] == best
    assert results["best_value"] == pytest.approx(val_acc[best])
    assert Path(results["best_job_dir"]) == sweep_dir / str(best)
    assert set(results["best_params"]) == SEARCHED
    assert sorted(t["number"] for t in results["trials"]) == list(range(5))
    assert {t["state"] for t in results["trials"]} == {"COMPLETE", "FAIL"}

    # The command trains the same model again, in a run dir of its own.
    command = shlex.split(results["reproduce"])
    assert command[:2] == ["python", "train.py"]
    rerun_dir = root / "rerun"
    code, stderr = entry("train", *command[2:], f"hydra.run.dir={rerun_dir}")
    assert code == 0, stderr[-20:]
    rerun = json.loads((rerun_dir / "metrics.json").read_text())
    assert rerun["val/acc"] == pytest.approx(val_acc[best], abs=1e-6)
    hidden = [results["best_params"]["search.width"]] * results["best_params"]["search.depth"]
    OmegaConf.register_new_resolver("repeat", lambda v, n: [v] * n, replace=True)
    assert OmegaConf.load(rerun_dir / ".hydra" / "config.yaml").model.net.hidden_sizes == hidden


def test_concurrent_workers_share_one_study(tmp_path):
    storage = tmp_path / "study.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(REPO_ROOT / "train.py"),
                *sweep(tmp_path, tmp_path / f"worker{seed}", "trainer.max_epochs=1"),
                f"hydra.sweeper.storage={storage}",
                "hydra.sweeper.study_name=shared",
                f"hydra.sweeper.sampler.seed={seed}",  # each worker its own seed, as the docs say
            ],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n".join(o[-3000:] for o in outputs)

    study = load_study(storage, "shared")
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == list(range(4))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert sorted(job_dirs(tmp_path / "worker1", tmp_path / "worker2")) == numbers


def test_a_pruned_trial_reports_every_epoch_and_stops(tmp_path, entry):
    sweep_dir = tmp_path / "sweep"
    # Prunes every trial from its second epoch on (epoch 1), unless val/acc reaches 0.99.
    pruner = "{_target_:optuna.pruners.ThresholdPruner,lower:0.99,n_warmup_steps:1}"
    code, stderr = entry(
        "train", *sweep(tmp_path, sweep_dir, "trainer.max_epochs=3", f"hydra.sweeper.pruner={pruner}")
    )
    assert code == 0, stderr[-20:]  # in-process: the sweeps above are real launches

    study = load_study(sweep_dir / "optuna_journal.log")
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.PRUNED}
    for trial in study.trials:
        logged = pd.read_csv(sweep_dir / str(trial.number) / "csv" / "metrics.csv")
        per_epoch = logged.dropna(subset=["val/acc"]).groupby("epoch")["val/acc"].first()
        # Trained epochs 0 and 1 only; the rows after them are the best checkpoint's validation and test.
        fit_epochs = sorted(trial.intermediate_values)
        assert fit_epochs == [0, 1]
        for epoch in fit_epochs:
            assert trial.intermediate_values[epoch] == pytest.approx(per_epoch[epoch])
        assert logged.dropna(subset=["train/loss_epoch"])["epoch"].max() == 1  # of trainer.max_epochs=3
        assert (
            f"trial {trial.number} pruned at epoch 1"
            in (sweep_dir / str(trial.number) / "train.log").read_text()
        )
    results = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert results.best_trial is None
    assert [t.state for t in results.trials] == ["PRUNED", "PRUNED"]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("hydra.sweeper.direction=up", "hydra.sweeper.direction: expected minimize or maximize, got 'up'"),
        (
            "hydra.sweeper.pruner=median",
            "hydra.sweeper.pruner=median: pick a pruner with hydra/sweeper/pruner=median",
        ),
    ],
)
def test_a_bad_sweeper_setting_stops_before_any_trial(entry, tmp_path, setting, message):
    sweep_dir = tmp_path / "sweep"
    code, stderr = entry("train", *sweep(tmp_path, sweep_dir, setting))
    assert code == 2
    assert stderr[-1].startswith(f"error: {message}")
    assert not (sweep_dir / "optuna_journal.log").exists()
