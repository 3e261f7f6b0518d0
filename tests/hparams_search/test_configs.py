"""The sweeper's config composes, and every pruner file builds the Optuna pruner it names."""

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from tests.helpers import REPO_ROOT

optuna = pytest.importorskip("optuna", reason="needs the optuna extra")

PRUNERS = {
    "median": optuna.pruners.MedianPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
}


def sweeper_config(*overrides: str):
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=["hparams_search=optuna", *overrides], return_hydra_config=True)


def test_the_pruner_files_are_all_there():
    assert {p.stem for p in (REPO_ROOT / "conf" / "hydra" / "sweeper" / "pruner").glob("*.yaml")} == set(
        PRUNERS
    )


@pytest.mark.parametrize("name", sorted(PRUNERS))
def test_each_pruner_file_builds_its_pruner(name):
    cfg = sweeper_config(f"hydra/sweeper/pruner={name}")
    assert isinstance(instantiate(cfg.hydra.sweeper.pruner), PRUNERS[name])


def test_no_pruner_by_default():
    cfg = sweeper_config()
    assert cfg.hydra.sweeper.pruner is None
    assert cfg.hydra.sweeper._target_ == "hydra_plugins.multiout_optuna_sweeper.sweeper.OptunaSweeper"
    assert cfg.hydra.sweeper.params["search.depth"] == "range(1, 4)"


def test_the_keys_a_job_gets_parse_back_to_its_trial():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from hydra_plugins.multiout_optuna_sweeper.sweeper import OptunaSweeper

    keys = OptunaSweeper._trial_keys("/runs/a b,c=d/it's.log", "my study", 3)
    parsed = {o.key_or_group: o.value() for o in OverridesParser.create().parse_overrides(keys)}
    assert parsed == {
        "optuna_trial.storage": "/runs/a b,c=d/it's.log",
        "optuna_trial.study_name": "my study",
        "optuna_trial.number": 3,
    }
