"""Run directories: a new one for every new run, the run's own one when it is resumed.

Hydra picks the run dir from `hydra.run.dir` before any project code runs, so the choice is
made by config resolvers (registered by `multiout.runtime.resolvers`, used in `conf/hydra/default.yaml`).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from multiout.errors import InputError
from multiout.runtime import storage

# Hydra writes a run's config here; its presence means that some run has used the dir.
HYDRA_SUBDIR = ".hydra"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"

# What an evaluate or predict run ran: the checkpoint and the hyperparameters its model was
# rebuilt from (its config names only the class).
CHECKPOINT_RECORD = "checkpoint_hparams.json"


def claim_new_dir(base: str | Path) -> Path:
    """`base` if no run has taken it, else the first free `base_1`, `base_2`, ...

    The dir is created here with `mkdir`, which fails if it exists, so two runs that start
    in the same second (same `base`) still end up in different dirs.
    """
    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in itertools.count():
        candidate = base.with_name(f"{base.name}_{n}") if n else base
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise AssertionError("unreachable")


def newest_run(root: str | Path) -> Path | None:
    """The run dir under `root` whose `last.ckpt` was written most recently, if any."""
    checkpoints = sorted(Path(root).glob(f"**/{LAST_CHECKPOINT}"), key=lambda p: p.stat().st_mtime)
    return checkpoints[-1].parents[1] if checkpoints else None


def choose_run_dir(root: str, stamp: str, resume: str | None) -> str:
    """`hydra.run.dir`: a new `root/stamp[_n]`, or with `resume`, the dir of the run to continue.

    `resume=auto` continues the newest run under `root` (a new dir if there is none);
    `resume=<run dir>` continues that run. A run dir in an object store (`s3://...`) is the
    run's `paths.output_dir`; Hydra's own files then go to a new local dir.
    """
    if resume is None:
        return str(claim_new_dir(Path(root) / stamp))
    if not isinstance(resume, str):
        raise InputError(f"resume must be auto or a run dir, got {resume!r}")
    if resume == "auto":
        found = newest_run(root)
        return str(found) if found is not None else str(claim_new_dir(Path(root) / stamp))
    if not storage.is_file(storage.join(resume, *LAST_CHECKPOINT.parts)):
        raise InputError(f"resume: expected a run dir holding {LAST_CHECKPOINT}, found none in {resume!r}")
    return str(claim_new_dir(Path(root) / stamp)) if storage.is_url(resume) else str(resume)


def output_dir(hydra_dir: str, resume: str | None) -> str:
    """`paths.output_dir`: Hydra's run dir, or with `resume=<URL>` the remote run it continues."""
    return resume if resume is not None and storage.is_url(resume) else hydra_dir


def launcher_rank() -> int:
    """This process's rank under an external launcher (srun, torchrun); 0 without one."""
    return int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0")))


def config_subdir(resume: str | None, _root_: Any) -> str | None:
    """`hydra.output_subdir`, resolved by Hydra after it picked the run dir but before it wrote there.

    A new run refuses a dir that a run has used already: that run's files stay as they are.
    A resumed run keeps the first launch's `.hydra/` and saves its own config beside it,
    in `.hydra/resume_1/`, `.hydra/resume_2/`, ... Under srun or torchrun every process
    starts the app on the same run dir: rank 0 saves the config, the others nothing.
    """
    if launcher_rank() > 0:
        return None
    run_dir = Path(_root_.hydra.runtime.output_dir)
    used = (run_dir / HYDRA_SUBDIR).is_dir()
    if not used:
        return HYDRA_SUBDIR
    if resume is None:
        raise InputError(
            f"hydra.run.dir: {run_dir} already holds a run, and a new run never reuses one; "
            "leave hydra.run.dir out for a new dir, or add resume=auto to continue that run"
        )
    for n in itertools.count(1):
        subdir = f"{HYDRA_SUBDIR}/resume_{n}"
        if not (run_dir / subdir).exists():
            return subdir
    raise AssertionError("unreachable")


def resume_checkpoint(resume: str | None, run_dir: str | Path) -> str | None:
    """The checkpoint a run with `resume` set continues from: its run dir's `last.ckpt`.

    None (start from scratch) when `resume=auto` finds no checkpoint yet, so the same command
    starts a job and, after a requeue, continues it.
    """
    if resume is None:
        return None
    if resume != "auto" and not _same_dir(resume, run_dir):
        raise InputError(
            f"resume={resume} continues that run in its own dir, but hydra.run.dir points at {run_dir}; "
            "drop hydra.run.dir, or use hydra.run.dir=<run dir> resume=auto"
        )
    last = storage.join(run_dir, *LAST_CHECKPOINT.parts)
    return last if storage.is_file(last) else None


def _same_dir(a: str | Path, b: str | Path) -> bool:
    if storage.is_url(a) or storage.is_url(b):
        return str(a).rstrip("/") == str(b).rstrip("/")
    return Path(a).resolve() == Path(b).resolve()
