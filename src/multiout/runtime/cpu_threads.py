"""CPU threads per process: the cores this process may use, shared among the processes that
the run starts on this machine, and threads that sleep instead of spinning while they wait.

torch sizes its thread pool by the host's core count, and its OpenMP threads spin while they
wait for work. With one other busy process on a 2-core machine, a thread that spins takes the
core its partner needs: 400 default training steps took 255 s instead of 6 s
(docs/scaling.md#cpu-threads).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from multiout.errors import InputError

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def wait_passively() -> None:
    """OpenMP threads sleep while they wait (`OMP_WAIT_POLICY=PASSIVE`) unless the environment
    says otherwise. OpenMP reads the variable once, when torch loads it, so this runs when
    `multiout.runtime` is imported, which the root scripts do before torch; DDP ranks and
    workers inherit it."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def usable_cores(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int:
    """The cores this process may run on: its CPU affinity, capped by its cgroup's CPU quota
    (a container's `--cpus`, a SLURM or Kubernetes limit), not the host's core count."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        # Rounded up, as Go's runtime does: a quota of 1.5 cores keeps 2 threads busy.
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)


def cgroup_cpu_quota(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The tightest CPU quota (in cores) of this process's cgroup and its parents, cgroup v2
    (`cpu.max`) or v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us`); None without one."""
    quotas = []
    for controllers, path in _cgroup_paths(proc_cgroup):
        if controllers == "":  # v2: one hierarchy, `cpu.max` is "<quota> <period>" or "max <period>"
            for folder in _self_and_parents(cgroup_root, path):
                quotas.append(_ratio(folder / "cpu.max", None))
        elif "cpu" in controllers.split(","):
            for mount in (cgroup_root / controllers, cgroup_root / "cpu"):
                for folder in _self_and_parents(mount, path):
                    quotas.append(_ratio(folder / "cpu.cfs_quota_us", folder / "cpu.cfs_period_us"))
    found = [q for q in quotas if q is not None]
    return min(found) if found else None


def _cgroup_paths(proc_cgroup: Path) -> list[tuple[str, str]]:
    """(controllers, path) per line of /proc/self/cgroup: `0::/a/b` (v2), `4:cpu,cpuacct:/a` (v1)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return [("", "/")]  # not Linux, or no procfs: look at the mount root only
    found = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            found.append((parts[1], parts[2]))
    return found


def _self_and_parents(mount: Path, path: str) -> list[Path]:
    """The cgroup folder of `path` under `mount` and every folder above it up to `mount`.
    Inside a container the process's path may not exist under its own mount: then the mount
    root is the container's cgroup."""
    parts = [p for p in path.split("/") if p]
    folders = [mount.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]
    return [folder for folder in folders if folder.is_dir()]


def _ratio(quota_file: Path, period_file: Path | None) -> float | None:
    try:
        if period_file is None:
            quota, period = quota_file.read_text().split()[:2]
        else:
            quota, period = quota_file.read_text().strip(), period_file.read_text().strip()
    except (OSError, ValueError):
        return None
    if quota == "max" or int(quota) <= 0 or int(period) <= 0:  # v1 writes -1 for no quota
        return None
    return int(quota) / int(period)


def processes_on_this_machine(
    strategy: str | None, devices: Any, launcher_target: str | None = None, launcher_jobs: Any = None
) -> int:
    """How many processes of this run train at once on this machine: the DDP processes per
    node (`trainer.devices` under a `ddp` strategy) times the jobs a local parallel Hydra
    launcher runs at once (`hydra.launcher.n_jobs`; a SLURM launcher runs its jobs elsewhere)."""
    processes = 1
    if "ddp" in str(strategy or ""):
        if isinstance(devices, int) and devices > 0:
            processes = devices
        elif isinstance(devices, Sequence) and not isinstance(devices, str):
            processes = max(1, len(devices))  # a list of device ids
    jobs_here = isinstance(launcher_jobs, int) and launcher_jobs > 1
    jobs_here = jobs_here and "submitit" not in str(launcher_target)  # part: slurm
    if jobs_here:
        processes *= launcher_jobs
    return processes


def threads_per_process(setting: int | str, processes: int, cores: int | None = None) -> int:
    """`cpu_threads` resolved: a positive number as given; `auto`, the usable cores divided
    among `processes` (at least 1)."""
    if setting == "auto":
        return max(1, (usable_cores() if cores is None else cores) // max(1, processes))
    if isinstance(setting, int) and not isinstance(setting, bool) and setting > 0:
        return setting
    raise InputError(f"cpu_threads must be auto or a positive number of threads, got {setting!r}")


def apply_cpu_threads(threads: int) -> None:
    """torch's intra-op threads in this process, and the same count for the processes it
    starts (DDP ranks inherit `OMP_NUM_THREADS`; with it set, Lightning's launcher keeps it
    instead of dividing `os.cpu_count()` itself)."""
    import torch  # here, not above: `wait_passively` must run before torch is first imported

    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
