"""Every file-based logger writes its files, with the per-channel scalars and the run's tags."""

import importlib.util  # part: loggers
import json
import sqlite3  # part: loggers

import pytest
from omegaconf import OmegaConf  # part: loggers

from multiout.errors import InputError  # part: loggers
from multiout.runtime import build as building  # part: loggers
from multiout.runtime.build import build_trainer  # part: loggers
from tests import helpers

# part: loggers
# All four come with the dev install; for users mlflow and wandb are optional extras.
OPTIONAL = {"mlflow": "mlflow", "wandb": "wandb"}
# end part


@pytest.mark.slow
def test_loggers_write_their_files(run):
    names = ["csv"]
    # part: loggers
    names += ["tensorboard"] + [name for name, module in OPTIONAL.items() if importlib.util.find_spec(module)]
    # end part
    result, run_dir = run(
        "train.py",
        *helpers.SMALL_DATA,
        "trainer.max_epochs=1",
        f"logger=[{','.join(names)}]",
        "tags=[smoke,loggers]",
        "callbacks.per_channel_report.figures=false",  # part: figures
    )
    # The start of the run: config tree, run dir, data summary.
    assert "├── data" in result.stdout and f"run dir: {run_dir}" in result.stdout
    assert "channels: 47 (ch00, ch01, ch02, ..., ch45, ch46)" in result.stdout
    assert json.loads((run_dir / "metrics.json").read_text())["tags"] == ["smoke", "loggers"]

    header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val/acc/ch00", "val/acc/ch46", "test/acc/ch46"} <= set(header)
    assert "smoke" in (run_dir / "csv" / "hparams.yaml").read_text()
    # part: loggers
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    if "mlflow" in names:  # the SQLite store in the directory the run started from
        with sqlite3.connect(run_dir.parent / "mlflow.db") as db:
            keys = {key for (key,) in db.execute("select distinct key from metrics")}
            params = dict(db.execute("select key, value from params"))
        assert {"val/acc/ch00", "test/acc/ch46"} <= keys and "smoke" in params["tags"]
    if "wandb" in names:  # offline: a binary run file to sync later
        (wandb_file,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")
        assert b"val/acc/ch46" in wandb_file.read_bytes()
    # end part


# part: loggers
def test_a_logger_without_its_package_is_an_input_error(monkeypatch, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        building.importlib.util, "find_spec", lambda name: None if name == "mlflow" else real_find_spec(name)
    )
    cfg = OmegaConf.create(
        {
            "trainer": {"_target_": "lightning.pytorch.Trainer", "default_root_dir": str(tmp_path)},
            "logger": OmegaConf.load(helpers.REPO_ROOT / "conf" / "logger" / "mlflow.yaml"),
        }
    )
    with pytest.raises(InputError, match=r"logger 'mlflow' needs the mlflow package.*\.\[mlflow\]"):
        build_trainer(cfg)


# end part
