"""DDP inside Hydra jobs: one process group and one set of child processes per job."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from multiout.runtime.distributed import LAUNCH_VARIABLES, distributed_job
from tests.helpers import read_metrics, run_script

# 203 rows each in val and test: not a multiple of 2 processes x 64, so DDP must neither pad nor drop.
DATA = ["data.num_samples=2030", "data.batch_size=64"]
QUIET = [
    "trainer.enable_progress_bar=false",
    "callbacks.rich_progress_bar=null",
    "callbacks.per_channel_report.figures=false",  # part: figures
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_job_end_tears_down_the_group_and_launch_variables(monkeypatch):
    for name in LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NODE_RANK", "0")  # set by an outer launcher: must survive the job
    with distributed_job(OmegaConf.create({})):
        port = _free_port()
        os.environ.update(LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="1")
        torch.distributed.init_process_group("gloo", rank=0, world_size=1)
        assert torch.distributed.is_initialized()
    assert not torch.distributed.is_initialized()
    assert not {"LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE"} & set(os.environ)
    assert os.environ["NODE_RANK"] == "0"


@pytest.mark.slow
def test_ddp_multirun_gives_one_dir_per_job_and_exact_metrics(tmp_path, entry):
    """`-m seed=1,2 trainer=ddp_sim`: two jobs, each with its own two processes, nothing stray."""
    result = run_script(
        "train.py", "-m", "seed=1,2", "trainer=ddp_sim", "trainer.max_epochs=1",
        "callbacks.rich_model_summary=null", *DATA, *QUIET, cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    # Rank 1 ran its own job only: it neither replayed the sweep nor opened a sweep dir of its own.
    assert result.stdout.count("Launching 2 jobs") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["multirun"]  # no outputs/, lightning_logs/
    [sweep] = tmp_path.glob("multirun/*/*")
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]
    for job, seed in (("0", 1), ("1", 2)):
        job_dir = sweep / job
        assert read_metrics(job_dir)["seed"] == seed
        logs = sorted(p.name for p in job_dir.glob("*.log"))
        assert logs == ["train.log", "train_rank1.log"]  # one log per rank, written once
        rank0, rank1 = (job_dir / "train.log").read_text(), (job_dir / "train_rank1.log").read_text()
        assert "metrics written" in rank0 and "metrics written" not in rank1
        # Each rank's log holds that rank's own messages: 2 processes on this machine share its cores.
        threads = max(1, len(os.sched_getaffinity(0)) // 2)
        for log, rank in ((rank0, 0), (rank1, 1)):
            assert f"GLOBAL_RANK: {rank}, MEMBER: {rank + 1}/2" in log
            assert f"cpu threads: {threads} per process" in log
        assert "GLOBAL_RANK: 1" not in rank0 and "rows: train" in rank0 and "rows: train" not in rank1
        assert [p.name for p in job_dir.rglob("metrics.json")] == ["metrics.json"]
    assert result.stdout.count("metrics written") == 2

    # The same checkpoint in one process: per-channel metrics identical, in val and test.
    ddp = read_metrics(sweep / "0")
    single_dir = tmp_path / "single"
    code, stderr = entry(
        "train", f"hydra.run.dir={single_dir}", "train=false", f"ckpt_path={ddp['ckpt_path']}",
        "trainer=cpu", "seed=1", *DATA, *QUIET,
    )  # fmt: skip
    assert code == 0, stderr[-20:]
    one = read_metrics(single_dir)
    for stage in ("val", "test"):
        assert ddp[f"{stage}/acc_per_channel"] == one[f"{stage}/acc_per_channel"]
        assert ddp[f"{stage}/acc"] == one[f"{stage}/acc"]
        assert ddp[f"{stage}/loss"] == pytest.approx(one[f"{stage}/loss"], rel=1e-6)  # sums in another order
        # 203 rows: every accuracy is a multiple of 1/203 (no sample counted twice or dropped).
        assert all(abs(a * 203 - round(a * 203)) < 1e-6 for a in ddp[f"{stage}/acc_per_channel"])
    assert Path(ddp["ckpt_path"]).parent == sweep / "0" / "checkpoints"
