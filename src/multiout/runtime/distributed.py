"""One Hydra job, one process group: Lightning's DDP launcher made safe inside Hydra runs.

For `strategy=ddp`, Lightning starts ranks > 0 by running the script again. Two things go
wrong when that script is a Hydra app, most visibly in a multirun (`-m`):

1. The child command is the parent's `sys.argv` plus `hydra.run.dir=...`. In a multirun
   that still holds `-m` and every sweep value, so each child replays the whole sweep in
   its own multirun directory (stray runs and logs, and peers out of step with the parent).
2. After a job, the parent keeps the process group and the variables Lightning set
   (`LOCAL_RANK`, `MASTER_PORT`, `WORLD_SIZE`, ...). With `LOCAL_RANK` set, Lightning
   believes someone else launched the processes, so the next job starts no children and
   talks to the previous job's dead peers.

`distributed_job` fixes both: children are started from the job's own resolved config,
written into the job's directory, and everything is torn down when the job ends. Under an
external launcher (`srun`, `torchrun`) no children are started and the variables that the
launcher set are left as they were.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_original_cwd, to_absolute_path
from omegaconf import DictConfig, OmegaConf

from multiout.runtime.lightning_internals import ddp_child_command
from multiout.runtime.run_dir import HYDRA_SUBDIR

log = logging.getLogger(__name__)

# Variables Lightning's launcher and `seed_everything` set in the main process.
LAUNCH_VARIABLES = (
    "MASTER_ADDR",
    "MASTER_PORT",
    "NODE_RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "OMP_NUM_THREADS",
    "PL_GLOBAL_SEED",
    "PL_SEED_WORKERS",
)
CHILD_CONFIG = "ddp_config.yaml"
CHILD_EXIT_TIMEOUT_S = 120.0


class DistributedJob:
    """What `distributed_job` yields: hand it the trainer so its child processes are awaited."""

    def __init__(self) -> None:
        self.trainer: L.Trainer | None = None

    def track(self, trainer: L.Trainer) -> L.Trainer:
        self.trainer = trainer
        return trainer

    def child_processes(self) -> list[subprocess.Popen]:
        launcher = self.trainer.strategy.launcher if self.trainer is not None else None
        return list(getattr(launcher, "procs", []))


def child_command(cfg: DictConfig, local_rank: int) -> tuple[list[str], str]:
    """The command that starts rank `local_rank` of this job, and the directory to run it in.

    The child composes nothing: it loads the job's resolved config from the job directory
    and writes into that same directory, without `-m` or any sweep value.
    """
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    # Always `.hydra/`: reading `hydra.output_subdir` again would re-run its resolver, which
    # by now sees this run's own `.hydra/` and takes the dir for a used one.
    config_dir = output_dir / HYDRA_SUBDIR
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / CHILD_CONFIG).write_text(OmegaConf.to_yaml(cfg, resolve=True))

    import __main__

    if __main__.__spec__ is None:
        command = [sys.executable, to_absolute_path(sys.argv[0])]
    else:
        command = [sys.executable, "-m", __main__.__spec__.name]
    command += [
        "--config-path",
        str(config_dir),
        "--config-name",
        CHILD_CONFIG.removesuffix(".yaml"),
        f"hydra.run.dir={_quoted(output_dir)}",
        f"hydra.job.name={hydra_cfg.job.name}_rank{local_rank}",
        "hydra.output_subdir=null",  # the job's .hydra/ belongs to rank 0
    ]
    return command, get_original_cwd()


def _quoted(path: Path) -> str:
    """A path as a Hydra override value: quoted, so `=`, `,` or spaces in it stay literal."""
    escaped = str(path).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@contextmanager
def distributed_job(cfg: DictConfig) -> Iterator[DistributedJob]:
    """Run one job with its own DDP child processes and process group; tear both down after.

    Without Hydra (a plain Python call) nothing is patched and only the teardown applies.
    """
    saved_env = {name: os.environ.get(name) for name in LAUNCH_VARIABLES}
    saved_threads = torch.get_num_threads()
    group_existed = torch.distributed.is_available() and torch.distributed.is_initialized()
    job = DistributedJob()
    try:
        if HydraConfig.initialized():
            with ddp_child_command(lambda local_rank: child_command(cfg, local_rank)):
                yield job
        else:
            yield job
    finally:
        if not group_existed:
            _destroy_process_group()
        _await_children(job.child_processes())
        _restore_env(saved_env)
        torch.set_num_threads(saved_threads)


def _destroy_process_group() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def _await_children(procs: Sequence[subprocess.Popen]) -> None:
    """Let this job's child processes finish, so none outlives its job or overlaps the next."""
    for proc in procs:
        try:
            proc.wait(timeout=CHILD_EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning(f"DDP child process {proc.pid} still running after the job ended; killing it")
            proc.kill()
            proc.wait()


def _restore_env(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
