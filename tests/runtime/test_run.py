"""User mistakes end the run before training: one line on stderr, exit code 2, no traceback.
In-process; `tests/runtime/test_config_typos.py` runs one from the shell."""

import json

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig

from multiout.errors import InputError
from multiout.runtime.build import build, data_spec
from multiout.runtime.checkpoints import existing_checkpoint
from multiout.runtime.run import resume_command, run_evaluate
from tests.helpers import REPO_ROOT, quiet_trainer, run_script, small_classifier


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.num_channels=0", "error: data.num_channels must be at least 1, got 0"),
        ("ckpt_path=missing/last.ckpt", "error: ckpt_path: no checkpoint file at 'missing/last.ckpt'"),
        (
            "data.test_fraction=0.0001",
            "error: data.val_fraction=0.1 and data.test_fraction=0.0001 leave the test split empty",
        ),
        (
            "model.optimizer._target_=torch.optim.Adamm",
            "error: model.optimizer._target_: 'torch.optim.Adamm' is not an importable class path",
        ),
        (
            "model.optimizer._target_=torch.optim.RMSprop",
            "error: model.optimizer: RMSprop takes no argument 'fused' (drop it with ~model.optimizer.fused)",
        ),
    ],
)
def test_bad_config_value_is_one_line_and_exit_code_2(entry, tmp_path, override, message):
    code, stderr = entry("train", f"hydra.run.dir={tmp_path / 'run'}", override, "data.num_samples=5000")
    assert code == 2
    errors = [line for line in stderr if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(message)
    assert not any("Traceback" in line for line in stderr)
    assert not (tmp_path / "run" / "checkpoints").exists()  # stopped before training


def test_a_required_value_left_unset_is_one_line_and_exit_code_2(tmp_path):
    # From the shell: the whole of stderr as a user sees it, Lightning's own log lines included.
    result = run_script("train.py", f"hydra.run.dir={tmp_path / 'run'}", "data.num_samples=???", cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: data.num_samples: no value given; set it, e.g. data.num_samples=..."]
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_existing_checkpoint(tmp_path):
    path = tmp_path / "a.ckpt"
    path.write_bytes(b"")
    assert existing_checkpoint(str(path)) == str(path)
    assert existing_checkpoint(None) is None
    with pytest.raises(InputError, match="ckpt_path: no checkpoint file"):
        existing_checkpoint(str(tmp_path / "b.ckpt"))


def test_continuing_a_checkpoint_with_another_data_shape_is_one_line(entry, tmp_path):
    trained = tmp_path / "trained"
    quiet = [
        "trainer.enable_progress_bar=false",
        "callbacks.rich_progress_bar=null",
        "logger=none",
        "callbacks.per_channel_report.figures=false",  # part: figures
    ]
    code, _ = entry(
        "train", f"hydra.run.dir={trained}", "trainer.max_epochs=1", "data.num_samples=500", *quiet
    )
    assert code == 0
    code, stderr = entry(
        "train", f"hydra.run.dir={tmp_path / 'mismatch'}", f"ckpt_path={trained}/checkpoints/last.ckpt",
        "data.num_features=8", "data.num_samples=500",
    )  # fmt: skip
    assert code == 2
    assert "this run's data gives other example shape than checkpoint" in stderr[-1]
    assert "([8] against [32]); give the data overrides it was trained with" in stderr[-1]
    assert not any("Traceback" in line for line in stderr)


def test_the_resume_hint_repeats_the_launch_overrides_but_the_run_dir():
    launch = ["trainer=ddp_sim", "seed=3", "ckpt_path=a.ckpt", "hydra.job.chdir=false", "hydra.run.dir=/x"]
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=launch, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    try:
        hint = resume_command("/runs/a b")
    finally:
        HydraConfig.instance().cfg = None
    assert hint == "python train.py trainer=ddp_sim seed=3 hydra.job.chdir=false 'resume=/runs/a b'"


def test_an_evaluate_run_records_the_checkpoints_model_not_a_default_one(tmp_path):
    data = ["data.num_samples=400", "data.num_features=6", "data.num_channels=4", "data.batch_size=64"]
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        config = compose("train", overrides=data).data
    datamodule = build(config)
    model = small_classifier(data=data_spec(datamodule, config).to_dict())  # one hidden layer of 8
    trainer = quiet_trainer(tmp_path, fast_dev_run=True)
    trainer.fit(model, datamodule=datamodule)
    ckpt = tmp_path / "model.ckpt"
    trainer.save_checkpoint(ckpt)
    overrides = [
        f"ckpt_path={ckpt}",
        f"paths.output_dir={tmp_path / 'eval'}",
        "logger=none",
        "callbacks=none",
    ]
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("evaluate", overrides=[*overrides, "trainer.enable_progress_bar=false"])
    assert set(cfg.model) == {"_target_"}  # what Hydra records: no made-up architecture
    run_evaluate(cfg)
    record = json.loads((tmp_path / "eval" / "checkpoint_hparams.json").read_text())
    saved = torch.load(ckpt, weights_only=True)["hyper_parameters"]
    assert record == {"ckpt_path": str(ckpt), "hyper_parameters": json.loads(json.dumps(dict(saved)))}
    assert record["hyper_parameters"]["net"]["hidden_sizes"] == [8]
