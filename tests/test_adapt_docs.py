"""docs/adapt.md's data modules and trunk, run as written: train, then evaluate from the
checkpoint alone, and the one-line stop of a trunk that does not fit the windows."""

from __future__ import annotations

import json
import re
import sys
import types

import numpy as np
import pytest
import torch
import yaml
from omegaconf import OmegaConf

from multiout.errors import InputError
from multiout.runtime.build import build, build_model, data_spec
from multiout.runtime.run import run_evaluate, run_train
from tests.helpers import REPO_ROOT, compose_task

QUIET = [
    "logger=none",
    "callbacks=default",
    "callbacks.per_channel_report.figures=false",  # part: figures
]


def blocks() -> dict[str, str]:
    """Each code block of the page that names its file in its first line, by that file."""
    text = (REPO_ROOT / "docs" / "adapt.md").read_text()
    found = re.findall(r"```(?:python|yaml)\n# (\S+)\n(.*?)```", text, flags=re.S)
    return {path: body for path, body in found}


@pytest.fixture(scope="module")
def docs_modules():
    """The page's Python files, importable under the names their paths give them."""
    added = []
    for path, body in blocks().items():
        if path.endswith(".py"):
            name = path.removeprefix("src/").removesuffix(".py").replace("/", ".")
            module = types.ModuleType(name)
            sys.modules[name] = module
            added.append(name)
            exec(compile(body, path, "exec"), module.__dict__)
    yield
    for name in added:
        del sys.modules[name]


def config(path: str, **values) -> dict:
    return {**yaml.safe_load(blocks()[path]), **values}


def series(folder, steps: int = 1000, features: int = 3, channels: int = 4, lag: int = 0) -> None:
    """Labels that depend on the first feature `lag` steps back."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps, features)).astype(np.float32)
    past = np.roll(x[:, 0], lag)[:, None] + 0.3 * np.arange(channels)
    y = np.digitize(past, [-0.5, 0.5]).astype(np.int64)
    folder.mkdir()
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)


def train_with(tmp_path, data: dict, net: dict | None = None, epochs: int = 2) -> dict:
    cfg = compose_task(
        "train", *QUIET, f"trainer.max_epochs={epochs}", f"paths.output_dir={tmp_path / 'run'}"
    )
    cfg.data = OmegaConf.create(data)
    if net is not None:
        cfg.model.net = OmegaConf.create(net)
    run_train(cfg)
    return json.loads((tmp_path / "run" / "metrics.json").read_text())


def test_windows_and_a_gru_train_and_evaluate_from_the_checkpoint_alone(tmp_path, docs_modules):
    series(tmp_path / "series")
    data = config("conf/data/series.yaml", folder=str(tmp_path / "series"), shuffle_seed=0)
    metrics = train_with(tmp_path, data, config("conf/model/net/gru.yaml"), epochs=3)
    assert metrics["test/acc"] > 0.5  # the most frequent class is under 0.45: the GRU reads the windows
    saved = torch.load(metrics["ckpt_path"], weights_only=True)["hyper_parameters"]["data"]
    assert saved["input"]["shape"] == [20, 3] and saved["data_config"]["window"] == 20
    run_evaluate(
        compose_task("evaluate", f"ckpt_path={metrics['ckpt_path']}", f"paths.output_dir={tmp_path / 'eval'}")
    )
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["test/acc_per_channel"] == metrics["test/acc_per_channel"]  # bit for bit
    assert evaluated["test/loss"] == metrics["test/loss"]


def test_a_row_trunk_on_windows_stops_before_training_naming_trunk_shape_and_fix(tmp_path, docs_modules):
    series(tmp_path / "series")
    cfg = compose_task("train", *QUIET, f"paths.output_dir={tmp_path / 'run'}")
    cfg.data = OmegaConf.create(
        config("conf/data/series.yaml", folder=str(tmp_path / "series"), shuffle_seed=0)
    )
    with pytest.raises(InputError) as info:
        build_model(cfg.model, data_spec(build(cfg.data), cfg.data))
    message = str(info.value)
    assert "multiout.models.mlp.MLP takes examples of 1 dimension(s)" in message
    assert "shape [20, 3]" in message
    assert "model/net=conv1d" in message  # part: windows


def test_the_npy_module_trains_with_its_labels_and_evaluates_from_the_checkpoint(tmp_path, docs_modules):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 4)).astype(np.float32) * 5 + 3
    y = np.sign(np.round(x[:, :2] - 3)).astype(np.float64)  # -1/0/1
    y[::17, 1] = np.nan  # missing labels
    (tmp_path / "npy").mkdir()
    np.save(tmp_path / "npy" / "x.npy", x)
    np.save(tmp_path / "npy" / "y.npy", y)
    data = config("conf/data/npy.yaml", folder=str(tmp_path / "npy"), shuffle_seed=0)
    metrics = train_with(tmp_path, data)
    saved = torch.load(metrics["ckpt_path"], weights_only=True)["hyper_parameters"]["data"]
    assert saved["output"]["label_values"] == [[-1, 0, 1]] * 2
    assert saved["input"]["statistics"]["mean"] == pytest.approx(list(x[:, :4].mean(axis=0)), abs=0.5)
    run_evaluate(
        compose_task("evaluate", f"ckpt_path={metrics['ckpt_path']}", f"paths.output_dir={tmp_path / 'eval'}")
    )
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["test/acc_per_channel"] == metrics["test/acc_per_channel"]
