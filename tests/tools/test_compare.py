"""compare_runs: differing overrides, grouping over seeds and folds, mean and std, sorting."""

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from compare_runs import main as compare_runs  # scripts/compare_runs.py

from multiout.errors import InputError
from multiout.tools.compare import find_runs, parse_overrides, summarize
from tests.helpers import run_script


def fake_run(run_dir: Path, overrides: list[str], val_acc: float, model: str = "mlp", tags=()) -> None:
    """A finished run as Hydra and train.py leave it; the config's own seed is 42."""
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (run_dir / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"seed": 42, "model": {"lr": 0.1}}))
    choices = {"hydra": {"runtime": {"choices": {"model": model, "data": "synthetic"}}}}
    (run_dir / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(choices))
    metrics = {"val/acc": val_acc, "val/loss": 1 - val_acc, "tags": list(tags)}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))


def test_parse_overrides():
    assert parse_overrides(["+a.b=1e-3", "model=wide", "~c", "x=[1,2]", "flag=false"]) == {
        "a.b": "0.001",
        "model": "wide",
        "c": "<deleted>",
        "x": "[1, 2]",
        "flag": "False",
    }


def test_runs_group_over_seeds_and_sort_by_the_mean(tmp_path):
    accs = {
        ("0.1", "1"): 0.70,
        ("0.1", "2"): 0.74,
        ("0.1", "42"): 0.72,
        ("0.01", "1"): 0.80,
        ("0.01", "2"): 0.78,
    }
    for i, ((lr, seed), acc) in enumerate(accs.items()):
        overrides = [f"model.lr={lr}"] + ([f"seed={seed}"] if seed != "42" else [])  # 42: the config's
        fake_run(tmp_path / str(i), overrides, acc, tags=["sweep"])
    fake_run(tmp_path / "other", ["model=wide"], 0.75)  # lr and seed from its config, model from choices

    config_keys, rows = summarize(find_runs(tmp_path), tmp_path, ("val/acc", "val/loss"), "val/acc")
    assert config_keys == ["model", "model.lr"]
    assert [(row["model"], row["model.lr"], row["runs"]) for row in rows] == [
        ("mlp", "0.01", 2),
        ("wide", "0.1", 1),
        ("mlp", "0.1", 3),
    ]
    for row, lr in ((rows[0], "0.01"), (rows[2], "0.1")):
        values = [acc for (key_lr, _), acc in accs.items() if key_lr == lr]
        assert row["val/acc mean"] == pytest.approx(np.mean(values))
        assert row["val/acc std"] == pytest.approx(np.std(values, ddof=1))
    assert rows[2]["seed"] == "1,2,42" and rows[2]["tags"] == "sweep"
    assert rows[1]["val/acc std"] is None  # one run: no spread

    _, by_loss = summarize(find_runs(tmp_path), tmp_path, ("val/loss",), "val/loss", ascending=True)
    assert by_loss[0]["model.lr"] == "0.01"


def test_no_runs_is_an_input_error(tmp_path, capsys):
    with pytest.raises(InputError, match=r"no metrics\.json"):
        find_runs(tmp_path)
    # The script's main in-process; the k-fold test below runs it from the shell.
    assert compare_runs([str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error: compare_runs: no directory")


@pytest.mark.slow
def test_kfold_multirun_is_averaged_over_folds(tmp_path, entry):
    sweep_dir = tmp_path / "sweep"
    folds = ["-m", "data.num_folds=2", "data.fold=0,1", f"hydra.sweep.dir={sweep_dir}"]
    small = [
        "data.num_samples=1000",
        "trainer.max_epochs=1",
        "print_config=false",
        "callbacks.per_channel_report.figures=false",  # part: figures
    ]
    code, stderr = entry("train", *folds, *small)
    assert code == 0, stderr[-20:]
    accs = [json.loads((sweep_dir / job / "metrics.json").read_text())["val/acc"] for job in ("0", "1")]
    assert accs[0] != accs[1]  # different validation folds

    result = run_script(
        "scripts/compare_runs.py", str(sweep_dir), "--csv", str(tmp_path / "t.csv"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    with (tmp_path / "t.csv").open() as f:
        (row,) = csv.DictReader(f)
    assert row["runs"] == "2" and row["data.fold"] == "0,1"
    assert float(row["val/acc mean"]) == pytest.approx(np.mean(accs))
    assert float(row["val/acc std"]) == pytest.approx(np.std(accs, ddof=1))


def test_a_resumed_run_is_read_from_the_launch_that_finished_it(tmp_path):
    fake_run(tmp_path / "short", ["trainer.max_epochs=2"], 0.70)
    fake_run(tmp_path / "long", ["trainer.max_epochs=2"], 0.75)
    resume = tmp_path / "long" / ".hydra" / "resume_1"
    resume.mkdir()
    (resume / "overrides.yaml").write_text(
        yaml.safe_dump(["trainer.max_epochs=3", f"resume={tmp_path / 'long'}"])
    )
    for name in ("config.yaml", "hydra.yaml"):
        (resume / name).write_text((tmp_path / "long" / ".hydra" / name).read_text())
    metrics = tmp_path / "long" / "metrics.json"
    metrics.write_text(metrics.read_text())  # written again when the resumed launch finishes

    config_keys, rows = summarize(find_runs(tmp_path), tmp_path, ("val/acc",), "val/acc")
    assert config_keys == ["trainer.max_epochs"]  # not `resume`
    assert [(row["trainer.max_epochs"], row["runs"]) for row in rows] == [("3", 1), ("2", 1)]


def test_a_failed_later_launch_of_a_finished_run_is_not_its_config(tmp_path):
    fake_run(tmp_path / "run", ["model=mlp"], 0.75)
    failed = tmp_path / "run" / ".hydra" / "resume_1"
    failed.mkdir()
    (failed / "overrides.yaml").write_text(yaml.safe_dump(["model=wide", f"resume={tmp_path / 'run'}"]))
    (failed / "config.yaml").write_text((tmp_path / "run" / ".hydra" / "config.yaml").read_text())
    later = (tmp_path / "run" / "metrics.json").stat().st_mtime_ns + 10**9
    os.utime(failed / "config.yaml", ns=(later, later))  # saved after metrics.json: it never finished

    [run] = find_runs(tmp_path)
    assert run.settings["model"] == "mlp"


def test_an_evaluate_run_is_compared_by_its_checkpoints_model_and_data(tmp_path):
    fake_run(tmp_path / "train", ["model.net.hidden_sizes=[16]", "data.window=5"], 0.7)
    evaluated = tmp_path / "evaluate"
    fake_run(evaluated, ["ckpt_path=x.ckpt"], 0.7)  # its config.yaml holds no model, no data keys
    record = {
        "ckpt_path": "x.ckpt",
        "hyper_parameters": {
            "net": {"_target_": "multiout.models.mlp.MLP", "hidden_sizes": [16]},
            "data": {"data_config": {"window": 5}},
        },
    }
    (evaluated / "checkpoint_hparams.json").write_text(json.dumps(record))
    settings = {run.path.name: run.settings for run in find_runs(tmp_path)}
    assert (
        settings["evaluate"]["model.net.hidden_sizes"]
        == "[16]"
        == settings["train"]["model.net.hidden_sizes"]
    )
    assert settings["evaluate"]["data.window"] == "5"
