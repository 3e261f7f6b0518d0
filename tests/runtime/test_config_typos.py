"""A misspelt config key, on the command line or in an experiment file, stops the program in
one line that names it and the nearest valid key: exit code 2, before a run dir is made."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException

from multiout.errors import InputError
from multiout.runtime.config_keys import RejectMisspeltKeys, misspelt_key
from tests.helpers import REPO_ROOT, run_script

OVERLAYS = [
    "experiment",
    "debug",
    "hparams_search",  # part: optuna
]


@pytest.fixture
def extra_conf(tmp_path) -> Path:
    """A config dir beside the template's (`--config-dir`) with experiment files of one's own."""
    experiments = tmp_path / "extra" / "experiment"
    experiments.mkdir(parents=True)
    files = {
        "optimizer_typo": "model:\n  optimzer:\n    lr: 0.01\n",
        "trainer_typo": "trainer:\n  max_epoch: 3\n",
        "trainer_unknown": "trainer:\n  warp_speed: 9\n",
        "root_typo": "seeed: 7\n",
        # Deliberate additions: an argument Trainer takes, a namespace of one's own, a new callback.
        "additions": (
            "trainer:\n  fast_dev_run: true\nsearch:\n  width: 3\n"
            "callbacks:\n  timer:\n    _target_: lightning.pytorch.callbacks.Timer\n"
        ),
    }
    for name, text in files.items():
        (experiments / f"{name}.yaml").write_text("# @package _global_\n" + text)
    return tmp_path / "extra"


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        (
            "train",
            ["model.optimizer.lrr=0.1"],
            "no key 'model.optimizer.lrr'; did you mean 'model.optimizer.lr'?",
        ),
        ("train", ["model.optimzer.lr=0.1"], "no key 'model.optimzer'; did you mean 'model.optimizer'?"),
        ("train", ["trainer.max_epoch=3"], "no key 'trainer.max_epoch'; did you mean 'trainer.max_epochs'?"),
        ("train", ["model=mpl"], "no option 'mpl' in group 'model'; did you mean 'model=mlp'?"),
        ("evaluate", ["ckpt_paht=a.ckpt"], "no key 'ckpt_paht'; did you mean 'ckpt_path'?"),
        (
            "predict",
            ["ckpt_path=a.ckpt", "data.predict_pth=a.csv"],
            "no key 'data.predict_pth'; did you mean 'data.predict_path'?",
        ),
    ],
)
def test_a_misspelt_override_is_one_line_with_the_nearest_key(entry, tmp_path, script, args, message):
    code, stderr = entry(script, f"hydra.run.dir={tmp_path / 'run'}", *args)
    assert code == 2
    assert stderr == [f"error: config: {message}"]
    assert not (tmp_path / "run").exists()


def test_a_misspelt_sweep_override_is_one_line_before_the_sweep_dir(entry, tmp_path):
    sweep = [f"hydra.sweep.dir={tmp_path / 'sweep'}", "+extra=1,2"]  # `+`: a new key, on purpose
    code, stderr = entry("train", "-m", *sweep, "model.optimizer.lrr=0.1,0.2")
    assert code == 2
    assert stderr == ["error: config: no key 'model.optimizer.lrr'; did you mean 'model.optimizer.lr'?"]
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    ("experiment", "message"),
    [
        (
            "optimizer_typo",
            "no key 'model.optimzer' (from experiment=optimizer_typo); did you mean 'model.optimizer'?",
        ),
        (
            "trainer_typo",
            "no key 'trainer.max_epoch' (from experiment=trainer_typo); did you mean 'trainer.max_epochs'?",
        ),
        ("root_typo", "no key 'seeed' (from experiment=root_typo); did you mean 'seed'?"),
        (
            "trainer_unknown",
            "no key 'trainer.warp_speed' (from experiment=trainer_unknown); "
            "lightning.pytorch.Trainer takes no argument 'warp_speed'",
        ),
    ],
)
def test_a_misspelt_key_in_an_experiment_file_is_one_line_before_the_run_dir(
    entry, tmp_path, extra_conf, experiment, message
):
    # `+` on the command line adds a key on purpose; it does not hide the file's mistake.
    args = [f"--config-dir={extra_conf}", f"hydra.run.dir={tmp_path / 'run'}", f"experiment={experiment}"]
    code, stderr = entry("train", *args, "+model.optimizer.foo=1")
    assert code == 2
    assert [line for line in stderr if line.startswith("error:")] == [f"error: config: {message}"]
    assert "Traceback" not in "\n".join(stderr)
    assert not (tmp_path / "run").exists()


def composed(*overrides: str, config_dir: Path | None = None):
    """`conf/train.yaml` with Hydra's own node, checked as a run would be."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        extra = [f"hydra.searchpath=[file://{config_dir}]"] if config_dir else []
        cfg = compose("train", overrides=[*extra, *overrides], return_hydra_config=True)
        RejectMisspeltKeys(OVERLAYS).check(cfg, "train")


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (REPO_ROOT / "conf" / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "overrides",
    [[f"experiment={o}"] for o in options("experiment")]
    + [[f"debug={o}"] for o in options("debug")]
    + [["experiment=wide_mlp", "debug=fdr", "+model.optimizer.lrr=0.1", "++trainer.min_steps=2"]],
)
def test_the_shipped_experiment_and_debug_files_add_no_misspelt_key(overrides):
    composed(*overrides)


def test_deliberate_additions_in_a_file_pass_and_a_misspelling_does_not(extra_conf):
    composed("experiment=additions", config_dir=extra_conf)
    with pytest.raises(InputError, match=r"no key 'model\.optimzer' \(from experiment=optimizer_typo\)"):
        composed("experiment=optimizer_typo", config_dir=extra_conf)


def test_misspelt_key_against_a_hand_written_expectation():
    defaults = {"seed": 1, "model": {"_target_": "torch.nn.Linear", "in_features": 2}}
    assert misspelt_key({**defaults, "sed": 2}, defaults) == ("sed", "; did you mean 'seed'?")
    assert misspelt_key({**defaults, "notes": "x"}, defaults) is None  # unlike any key: an addition
    model = {**defaults["model"], "bias": False}  # an argument the class takes
    assert misspelt_key({**defaults, "model": model}, defaults) is None
    model = {**defaults["model"], "in_feature": 3}
    assert misspelt_key({**defaults, "model": model}, defaults) == (
        "model.in_feature",
        "; did you mean 'model.in_features'?",
    )
    model = {**defaults["model"], "colour": 3}
    assert misspelt_key({**defaults, "model": model}, defaults) == (
        "model.colour",
        "; torch.nn.Linear takes no argument 'colour'",
    )


def test_hydra_full_error_set_by_the_user_keeps_hydras_exception(monkeypatch, tmp_path):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    monkeypatch.setattr(
        sys, "argv", ["train.py", f"hydra.run.dir={tmp_path / 'run'}", "model.optimizer.lrr=1"]
    )
    try:
        with pytest.raises(ConfigCompositionException):
            runpy.run_path(str(REPO_ROOT / "train.py"), run_name="__main__")
    finally:
        GlobalHydra.instance().clear()


@pytest.mark.slow
def test_a_misspelt_override_from_the_shell(tmp_path):
    result = run_script(
        "train.py", f"hydra.run.dir={tmp_path / 'run'}", "model.optimizer.lrr=0.1", cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: config: no key 'model.optimizer.lrr'; did you mean 'model.optimizer.lr'?"
    ]
    assert not (tmp_path / "run").exists()
