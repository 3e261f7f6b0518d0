"""Each data config says what its class says: a key whose value in `conf/data/*.yaml` differs
from the class's own default would give a run from Python and a run from the command line two
different settings."""

import dataclasses  # part: tables
import importlib
import inspect
from pathlib import Path

import pytest
import yaml

from multiout.data.tables.source import ColumnKeys  # part: tables
from tests.helpers import REPO_ROOT

CONFIGS = sorted((REPO_ROOT / "conf" / "data").glob("*.yaml"))


def code_defaults(target: str) -> dict:
    module, _, name = target.rpartition(".")
    parameters = inspect.signature(getattr(importlib.import_module(module), name)).parameters.values()
    defaults = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    # part: tables
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):  # the column keys
        defaults.update({field.name: field.default for field in dataclasses.fields(ColumnKeys)})
    # end part
    return defaults


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_data_config_value_is_its_classs_default(path: Path):
    config = yaml.safe_load(path.read_text())
    defaults = code_defaults(config["_target_"])
    compared = 0
    for key, value in config.items():
        if key.startswith("_") or (isinstance(value, str) and "${" in value) or key not in defaults:
            continue  # Hydra's keys, interpolations, and required arguments (data.window)
        default = defaults[key]
        assert (list(default) if isinstance(default, tuple) else default) == value, f"{path.name}: {key}"
        compared += 1
    assert compared >= 5
