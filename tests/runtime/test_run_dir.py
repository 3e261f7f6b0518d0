"""Run dirs: never shared by two new runs, reused only to resume."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from multiout.errors import InputError
from multiout.runtime.run_dir import (
    choose_run_dir,
    claim_new_dir,
    config_subdir,
    newest_run,
    resume_checkpoint,
)


def make_run(path: Path, mtime: float | None = None) -> Path:
    (path / ".hydra").mkdir(parents=True)
    last = path / "checkpoints" / "last.ckpt"
    last.parent.mkdir()
    last.write_bytes(b"ckpt")
    if mtime is not None:
        os.utime(last, (mtime, mtime))
    return path


def hydra_root(run_dir: Path) -> SimpleNamespace:
    return SimpleNamespace(hydra=SimpleNamespace(runtime=SimpleNamespace(output_dir=str(run_dir))))


def test_runs_starting_in_the_same_second_get_different_dirs(tmp_path):
    base = tmp_path / "outputs" / "2026-01-01" / "12-00-00"
    dirs = [claim_new_dir(base) for _ in range(3)]
    assert [d.name for d in dirs] == ["12-00-00", "12-00-00_1", "12-00-00_2"]
    assert all(d.is_dir() for d in dirs)


def test_resume_auto_picks_the_run_with_the_newest_checkpoint(tmp_path):
    make_run(tmp_path / "2026-01-01" / "12-00-00", mtime=2_000)
    newest = make_run(tmp_path / "2026-01-01" / "09-00-00", mtime=3_000)
    assert newest_run(tmp_path) == newest
    assert choose_run_dir(str(tmp_path), "2026-01-02/10-00-00", "auto") == str(newest)


def test_resume_auto_without_any_run_starts_a_new_one(tmp_path):
    chosen = choose_run_dir(str(tmp_path), "2026-01-02/10-00-00", "auto")
    assert chosen == str(tmp_path / "2026-01-02" / "10-00-00")


def test_resuming_a_dir_without_checkpoint_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"resume: expected a run dir holding checkpoints/last.ckpt"):
        choose_run_dir(str(tmp_path), "2026-01-02/10-00-00", str(tmp_path / "nothing"))
    with pytest.raises(InputError, match="resume must be auto or a run dir, got True"):
        choose_run_dir(str(tmp_path), "2026-01-02/10-00-00", True)


def test_a_new_run_refuses_a_used_dir_and_a_resumed_one_keeps_the_first_config(tmp_path):
    run_dir = make_run(tmp_path / "run")
    with pytest.raises(InputError, match="already holds a run"):
        config_subdir(None, hydra_root(run_dir))
    assert config_subdir("auto", hydra_root(run_dir)) == ".hydra/resume_1"
    (run_dir / ".hydra" / "resume_1").mkdir()
    assert config_subdir("auto", hydra_root(run_dir)) == ".hydra/resume_2"
    assert config_subdir(None, hydra_root(tmp_path / "fresh")) == ".hydra"


def test_resume_reads_the_run_dirs_own_last_checkpoint(tmp_path):
    run_dir = make_run(tmp_path / "run")
    assert resume_checkpoint(str(run_dir), run_dir) == str(run_dir / "checkpoints" / "last.ckpt")
    assert resume_checkpoint("auto", tmp_path / "new") is None  # a requeued job's first start
    with pytest.raises(InputError, match="continues that run in its own dir"):
        resume_checkpoint(str(run_dir), tmp_path / "elsewhere")


@pytest.mark.parametrize("variable", ["RANK", "SLURM_PROCID"])
def test_under_an_external_launcher_only_rank_zero_saves_the_config(tmp_path, monkeypatch, variable):
    run_dir = make_run(tmp_path / "run")  # rank 0 has written .hydra/ already
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.setenv(variable, "1")
    assert config_subdir(None, hydra_root(run_dir)) is None  # no "already holds a run" for rank 1
    monkeypatch.setenv(variable, "0")
    with pytest.raises(InputError, match="already holds a run"):
        config_subdir(None, hydra_root(run_dir))
