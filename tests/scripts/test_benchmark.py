"""The benchmark's measurements run, compare like with like, and report sane numbers."""

from __future__ import annotations

import subprocess
import sys

import pytest
from bench.loading import data_loading
from bench.metric import metric_update
from bench.timing import interleaved, median_ratio
from bench.training import (
    BENCH_OVERRIDES,
    compose_train_config,
    raw_loop_samples_per_s,
    template_samples_per_s,
)

from tests.helpers import REPO_ROOT


def test_interleaving_rotates_the_order():
    calls: list[str] = []
    candidates = {name: (lambda name=name: calls.append(name) or 1.0) for name in "abc"}
    interleaved(candidates, rounds=3)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert median_ratio([2.0, 4.0, 9.0], [1.0, 1.0, 3.0]) == 3.0


def test_metric_and_loading_comparisons_run_on_the_same_data():
    metric = metric_update(batch_size=32, num_channels=5, calls=10, rounds=1)
    assert metric["same_accuracies"] and metric["speedup"] > 0
    loading = data_loading(num_samples=1000, num_channels=5, batch_size=64, rounds=1)
    assert loading["template_samples_per_s"] > 0 and loading["tensordataset_vs_slicing"] > 0


def test_template_and_raw_loop_train_the_same_setup(tmp_path):
    small = ["data.num_samples=400", "data.batch_size=100", "trainer.max_epochs=3", "trainer.accelerator=cpu"]
    cfg = compose_train_config(REPO_ROOT / "conf", tmp_path, [*BENCH_OVERRIDES, *small])
    template, bare, raw = (
        template_samples_per_s(cfg),
        template_samples_per_s(cfg, bare=True),
        raw_loop_samples_per_s(cfg),
    )
    for run in (template, bare):  # the same rows, optimizer steps and learning-rate schedule
        assert (run["samples"], run["steps"]) == (raw["samples"], raw["steps"]) == (320, 12)
        assert (
            run["last_lr"] == pytest.approx(raw["last_lr"]) and raw["last_lr"] < cfg.model.optimizer.lr / 10
        )


def test_peak_memory_is_the_programs_own_not_its_launchers():
    ballast = bytearray(2**30)  # 1 GiB in this process: a launcher's memory must not show in the child's
    code = (
        "from bench.startup import peak_rss_mib\n"
        "before = peak_rss_mib()\n"
        "block = bytearray(300 * 2**20)\n"
        "print(before, peak_rss_mib())"
    )
    scripts = REPO_ROOT / "scripts"  # where `bench` lives, as for `python scripts/benchmark.py`
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=scripts, capture_output=True, text=True, check=True
    ).stdout
    before, after = map(float, out.split())
    assert before < 900 < len(ballast) / 2**20
    assert after - before > 250


def test_the_gpu_section_runs_its_candidates_and_counts_on_a_cpu(tmp_path):
    """Section 5's code, with the CPU standing in for the GPU (the same resident-data path)."""
    from bench.gpu import cuda_setting, report_rows

    small = ["trainer=cpu", "data.num_samples=400", "data.batch_size=100", "+data.device_resident_on_cpu=true"]  # fmt: skip
    result = cuda_setting(REPO_ROOT, small, rounds=1, device="cpu")
    for name in ("template", "template_host_batches", "raw", "raw_resident"):
        assert result[f"{name}_samples_per_s_wall"] > 0
    assert result["host_reads_resident"]["steps"] == 8  # 2 epochs of 4 steps (step 0 from its end on)
    assert result["host_reads_resident"]["reads_on_quiet_steps"] == 0  # part: speed
    assert len(report_rows({"fp32": result})) == 5


def test_the_threads_section_compares_auto_with_the_fastest_hand_picked_count():
    from bench.threads import candidates, report_rows

    names = set(candidates("default", cores=2, extra=[]))
    assert names == {"quiet auto", "quiet previous", "busy auto", "busy 1", "busy 2"}
    seconds = {"quiet auto": [10.0, 12.0], "quiet previous": [10.0, 11.0], "busy auto": [13.0, 13.0],
               "busy 1": [10.0, 10.0], "busy 2": [13.0, 13.0]}  # fmt: skip
    result = {"seconds": seconds, "best_hand_picked": "busy 1", "busy_auto_vs_best": 1.3,
              "quiet_auto_vs_previous": 1.1}  # fmt: skip
    busy, quiet = report_rows({"usable_cores": 2, "default": result})
    assert busy[1:4] == (13.0, 10.0, 1.3) and busy[4].startswith("ok")
    assert quiet[1:3] == (11.0, 10.5) and quiet[4].startswith("MISSED")
