"""`cpu_threads=auto`: the cores this process may use (affinity, cgroup quota) divided among
the processes the run starts on this machine, against counts worked out by hand."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

from multiout.errors import InputError
from multiout.runtime.cpu_threads import (
    cgroup_cpu_quota,
    processes_on_this_machine,
    threads_per_process,
    usable_cores,
)
from tests.helpers import REPO_ROOT

AFFINITY = len(os.sched_getaffinity(0))


def fake_cgroup(tmp_path, proc_line: str, files: dict[str, str]):
    """A cgroup mount under `tmp_path/cg` holding `files`, and a /proc/self/cgroup naming `proc_line`."""
    root = tmp_path / "cg"
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    proc = tmp_path / "proc_cgroup"
    proc.write_text(proc_line + "\n")
    return root, proc


def test_a_cgroup_v2_quota_caps_the_cores_and_the_tightest_parent_wins(tmp_path):
    root, proc = fake_cgroup(
        tmp_path,
        "0::/job/step",
        {"job/cpu.max": "150000 100000\n", "job/step/cpu.max": "max 100000\n", "cpu.max": "max 100000\n"},
    )
    assert cgroup_cpu_quota(root, proc) == 1.5
    assert usable_cores(root, proc) == min(AFFINITY, math.ceil(150000 / 100000))


def test_a_cgroup_v1_quota_and_no_quota(tmp_path):
    root, proc = fake_cgroup(
        tmp_path,
        "4:cpu,cpuacct:/\n3:memory:/x",
        {"cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
    )
    assert cgroup_cpu_quota(root, proc) == 0.5
    assert usable_cores(root, proc) == 1  # half a core still runs one thread
    unlimited, proc = fake_cgroup(
        tmp_path / "none",
        "4:cpu,cpuacct:/",
        {"cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
    )
    assert cgroup_cpu_quota(unlimited, proc) is None
    assert usable_cores(unlimited, proc) == AFFINITY  # the affinity, not os.cpu_count()


@pytest.mark.parametrize(
    ("strategy", "devices", "launcher", "jobs", "expected"),
    [
        (None, 1, None, None, 1),
        ("auto", 4, None, None, 1),  # one process, whatever the device count
        ("ddp", 2, None, None, 2),
        ("ddp", [0, 1, 2], None, None, 3),
        ("ddp", 2, "hydra_plugins.hydra_joblib_launcher.JoblibLauncher", 3, 6),
        # part: slurm
        ("ddp", 2, "hydra_plugins.hydra_submitit_launcher.SlurmLauncher", 3, 2),  # jobs run elsewhere
        # end part
    ],
)
def test_processes_on_this_machine(strategy, devices, launcher, jobs, expected):
    assert processes_on_this_machine(strategy, devices, launcher, jobs) == expected


def test_threads_per_process():
    assert threads_per_process("auto", processes=2, cores=2) == 1
    assert threads_per_process("auto", processes=1, cores=8) == 8
    assert threads_per_process("auto", processes=3, cores=2) == 1  # never 0
    assert threads_per_process(3, processes=2, cores=2) == 3  # by hand: as given
    for bad in (0, -1, "many", True):
        with pytest.raises(InputError, match="cpu_threads must be auto or a positive number"):
            threads_per_process(bad, processes=1, cores=2)


def test_threads_wait_passively_from_before_torch_is_loaded():
    """OpenMP reads OMP_WAIT_POLICY when torch loads it: the root scripts' imports up to
    `multiout.runtime` must set it and must not have loaded torch yet."""
    code = (
        "import os, sys\n"
        "os.environ.pop('OMP_WAIT_POLICY', None)\n"
        "import hydra, omegaconf, multiout.runtime.config_keys\n"
        "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["PASSIVE", "False"]
