"""Section 5 of the benchmark: training on a CUDA GPU at B=4096.

For each precision setting (fp32, bf16-mixed, bf16-mixed + `model.compile`), interleaved:
the template with its data resident on the GPU (the default there), the template gathering
batches on the host (`data.device_resident_max_gb=0`), and the raw loop both ways. Then,
in one untimed fit each, the host reads and the synchronizing CUDA calls per training step
(`bench.host_reads`): a step that waits on the GPU leaves it idle while Python queues the
next one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.host_reads import count_training_reads
from bench.timing import interleaved, median, median_ratio
from bench.training import (
    BENCH_OVERRIDES,
    compose_train_config,
    raw_loop_samples_per_s,
    template_samples_per_s,
)

# Enough work per step to keep a GPU busy.
CUDA_OVERRIDES = ["trainer=gpu", "data.batch_size=4096", "data.num_samples=400000"]
CUDA_SETTINGS = {
    "fp32": ["trainer.precision=32-true"],
    "bf16-mixed": ["trainer.precision=bf16-mixed"],
    "bf16-mixed+compile": ["trainer.precision=bf16-mixed", "model.compile=true"],
}
ON_HOST = ["data.device_resident_max_gb=0"]


def cuda_setting(repo: Path, overrides: list[str], rounds: int, device: str = "cuda") -> dict[str, Any]:
    """Samples/s (wall time) of the four candidates, their ratios to the raw loop with host
    batches, and host reads and CUDA syncs per step of the template, resident and not.
    (`device="cpu"`, with CPU overrides, runs the same code where there is no GPU.)"""
    with tempfile.TemporaryDirectory() as tmp:
        base = [*BENCH_OVERRIDES, "trainer.max_epochs=3", *overrides]
        cfg = compose_train_config(repo / "conf", Path(tmp), base)
        host_cfg = compose_train_config(repo / "conf", Path(tmp), [*base, *ON_HOST])
        runs = interleaved(
            {
                "template": lambda: template_samples_per_s(cfg),
                "template_host_batches": lambda: template_samples_per_s(host_cfg),
                "raw": lambda: raw_loop_samples_per_s(cfg, device),
                "raw_resident": lambda: raw_loop_samples_per_s(cfg, device, resident=True),
            },
            rounds,
        )
        result: dict[str, Any] = {"batch_size": cfg.data.batch_size}
        rates = {name: [r["wall"] for r in values] for name, values in runs.items()}
        for name, values in rates.items():
            result[f"{name}_samples_per_s_wall"] = median(values)
            if name != "raw":
                result[f"{name}_vs_raw_wall"] = median_ratio(values, rates["raw"])
        # The first warm-up epoch is not counted: 2 epochs give one whole epoch and more.
        counted = [o for o in base if not o.startswith("trainer.max_epochs")] + ["trainer.max_epochs=2"]
        for place, extra in (("resident", []), ("host_batches", ON_HOST)):
            on_cuda = device == "cuda"
            reads = count_training_reads([*counted, *extra], Path(tmp), where=True, cuda_syncs=on_cuda)
            steps = max(reads["steps"], 1)
            result[f"host_reads_per_step_{place}"] = reads["host_reads"] / steps
            result[f"cuda_syncs_per_step_{place}"] = reads.get("cuda_sync_warnings", 0) / steps
            result[f"host_reads_{place}"] = reads
    return result


def cuda_training(repo: Path, rounds: int, extra: list[str]) -> dict[str, Any]:
    """Every setting of `CUDA_SETTINGS`, each with `extra` overrides (e.g. smaller data)."""
    return {
        name: cuda_setting(repo, [*CUDA_OVERRIDES, *setting, *extra], rounds)
        for name, setting in CUDA_SETTINGS.items()
    }


def report_rows(cuda: dict[str, Any]) -> list[tuple[str, float, float | None, float | None]]:
    """(measurement, template, baseline, ratio) rows for the benchmark's table."""
    rows: list[tuple[str, float, float | None, float | None]] = []
    for name, c in cuda.items():
        raw = c["raw_samples_per_s_wall"]
        rows += [
            (f"5 CUDA {name} samples/s, B={c['batch_size']}, resident data", c["template_samples_per_s_wall"],
             raw, c["template_vs_raw_wall"]),
            ("  template, batches gathered on the host", c["template_host_batches_samples_per_s_wall"],
             raw, c["template_host_batches_vs_raw_wall"]),
            ("  raw loop, data resident on the GPU", c["raw_resident_samples_per_s_wall"],
             raw, c["raw_resident_vs_raw_wall"]),
            ("  host reads / CUDA syncs per step, resident", c["host_reads_per_step_resident"],
             c["cuda_syncs_per_step_resident"], None),
            ("  host reads / CUDA syncs per step, host batches", c["host_reads_per_step_host_batches"],
             c["cuda_syncs_per_step_host_batches"], None),
        ]  # fmt: skip
    return rows
