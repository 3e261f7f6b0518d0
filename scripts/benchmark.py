"""The template against hand-written baselines, measured in one run on this machine.

    python scripts/benchmark.py [--rounds 5] [--threads 1] [--json benchmark.json] [--quick]

Sections: 1 training throughput (Trainer.fit vs a raw PyTorch loop), 2 per-channel metric
update (vs MultioutputWrapper), 3 data loading (vs slicing a shuffled tensor), 4 start-up
time and peak memory of `python train.py`, 5 training on CUDA, data resident or not, and host
reads per step (`bench/gpu.py`; skipped without CUDA), 6 only when asked for
(`--sections threads`): the default `cpu_threads` with and without a busy neighbour
(`bench/threads.py`). Candidates run interleaved and ratios are medians of per-round ratios,
so read the ratios; absolute numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import warnings
from pathlib import Path
from typing import Any

import lightning
import torch
from bench.gpu import cuda_training
from bench.gpu import report_rows as cuda_report_rows
from bench.loading import data_loading
from bench.metric import metric_update
from bench.startup import startup
from bench.threads import report_rows as threads_report_rows
from bench.threads import threads
from bench.timing import interleaved, median, median_ratio
from bench.training import (
    BENCH_OVERRIDES,
    compose_train_config,
    raw_loop_samples_per_s,
    shipped_lightning_samples_per_s,  # part: speed
    template_samples_per_s,
)
from omegaconf import OmegaConf  # part: speed
from rich.console import Console
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("training", "metric", "loading", "startup", "cuda")
# Asked for by name only (`--sections threads`): 10 training runs per round.
OPTIONAL_SECTIONS = ("threads",)
# Floors: the template's training against the raw loop and against Lightning's bare loop.
BARS = {"training": 0.80, "training_vs_bare": 0.93, "metric": 30.0, "loading": 0.8}


def training(overrides: list[str], rounds: int, device: str, bare: bool) -> dict[str, Any]:
    """Template vs raw loop (and, if `bare`, vs Lightning's loop alone and the template without
    each of its speed tricks) in samples/s."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_train_config(
            REPO_ROOT / "conf", Path(tmp), [*BENCH_OVERRIDES, "trainer.max_epochs=3", *overrides]
        )
        candidates = {
            "template": lambda: template_samples_per_s(cfg),
            "raw": lambda: raw_loop_samples_per_s(cfg, device),
        }
        if bare:
            candidates["lightning_bare"] = lambda: template_samples_per_s(cfg, bare=True)
            # part: speed
            without = "bench.training.WithoutLeanHooks"
            candidates["without_lean_hooks"] = lambda: template_samples_per_s(cfg, model_class=without)
            lightning_profiler = OmegaConf.merge(cfg, {"trainer": {"profiler": None}})
            candidates["without_no_profiler"] = lambda: template_samples_per_s(lightning_profiler)
            candidates["lightning_shipped"] = lambda: shipped_lightning_samples_per_s(cfg)
            # end part
        runs = interleaved(candidates, rounds)
    result: dict[str, Any] = {"batch_size": cfg.data.batch_size}
    for clock in ("cpu", "wall"):
        if device != "cpu" and clock == "cpu":
            continue  # GPU work is not this process's CPU time
        rates = {name: [r[clock] for r in values] for name, values in runs.items()}
        for name, values in rates.items():
            result[f"{name}_samples_per_s_{clock}"] = median(values)
            if name != "raw":
                result[f"{name}_vs_raw_{clock}"] = median_ratio(values, rates["raw"])
        if "lightning_bare" in rates:
            result[f"template_vs_bare_{clock}"] = median_ratio(rates["template"], rates["lightning_bare"])
        # part: speed
        if "lightning_shipped" in rates:
            result[f"template_vs_shipped_{clock}"] = median_ratio(
                rates["template"], rates["lightning_shipped"]
            )
        # end part
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "lightning": lightning.__version__,
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_1min": os.getloadavg()[0],
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        },
        "rounds": args.rounds,
    }
    quick = ["data.num_samples=8000"] if args.quick else []
    sections = set(args.sections.split(","))
    if "training" in sections:
        results["training"] = training(["trainer.accelerator=cpu", *quick], args.rounds, "cpu", bare=True)
        # The same at 4x the batch: what is left of the gap is a fixed cost per step.
        results["training_large_batch"] = training(
            ["trainer.accelerator=cpu", "data.batch_size=1024", *quick], args.rounds, "cpu", bare=False
        )
    if "metric" in sections:
        results["metric"] = metric_update(rounds=args.rounds)
    if "loading" in sections:
        results["loading"] = data_loading(rounds=args.rounds)
    if "startup" in sections:
        results["startup"] = startup(
            REPO_ROOT / "train.py",
            repeats=1 if args.quick else 3,
            full_run_overrides=("trainer.max_epochs=2",) if args.quick else (),
        )
    if "cuda" in sections and torch.cuda.is_available():
        results["cuda"] = cuda_training(REPO_ROOT, min(args.rounds, 3), quick)
    elif "cuda" in sections:
        results["cuda"] = "skipped: no CUDA device"
    if "threads" in sections:
        results["threads"] = threads(args.rounds)
    return results


def report(results: dict[str, Any]) -> Table:
    table = Table(title="multiout benchmark (ratios: median of interleaved rounds)")
    for column in ("measurement", "template", "baseline", "ratio", "bar"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    t, m, d, s = (results.get(key) for key in ("training", "metric", "loading", "startup"))
    big = results.get("training_large_batch")

    def row(name: str, ours: float, base: float | None, ratio: float | None, bar: float | None) -> None:
        fmt = (lambda v: "" if v is None else f"{v:,.0f}") if ours > 100 else (lambda v: f"{v:.2f}")
        verdict = "" if bar is None or ratio is None else f"{'ok' if ratio >= bar else 'MISSED'} (>= {bar})"
        table.add_row(name, fmt(ours), fmt(base) if base else "", f"{ratio:.3f}" if ratio else "", verdict)

    for clock in ("cpu", "wall") if t else ():
        row(f"1 training samples/s, B={t['batch_size']} ({clock} time)", t[f"template_samples_per_s_{clock}"],
            t[f"raw_samples_per_s_{clock}"], t[f"template_vs_raw_{clock}"], BARS["training"] if clock == "cpu" else None)  # fmt: skip
        row(f"  Lightning loop alone ({clock} time)", t[f"lightning_bare_samples_per_s_{clock}"],
            t[f"raw_samples_per_s_{clock}"], t[f"lightning_bare_vs_raw_{clock}"], None)  # fmt: skip
        row(f"  template vs Lightning loop alone ({clock} time)", t[f"template_samples_per_s_{clock}"],
            t[f"lightning_bare_samples_per_s_{clock}"], t[f"template_vs_bare_{clock}"],
            BARS["training_vs_bare"] if clock == "cpu" else None)  # fmt: skip
        # part: speed
        row(f"  Lightning loop alone, as shipped ({clock} time)", t[f"lightning_shipped_samples_per_s_{clock}"],
            t[f"raw_samples_per_s_{clock}"], t[f"lightning_shipped_vs_raw_{clock}"], None)  # fmt: skip
        row(f"  template vs Lightning loop alone as shipped ({clock} time)", t[f"template_samples_per_s_{clock}"],
            t[f"lightning_shipped_samples_per_s_{clock}"], t[f"template_vs_shipped_{clock}"], None)  # fmt: skip
        for trick in ("lean_hooks", "no_profiler"):
            row(f"  template without {trick} ({clock} time)", t[f"without_{trick}_samples_per_s_{clock}"],
                t[f"raw_samples_per_s_{clock}"], t[f"without_{trick}_vs_raw_{clock}"], None)  # fmt: skip
        # end part
    if big:
        row(f"  template at B={big['batch_size']} (cpu time)", big["template_samples_per_s_cpu"],
            big["raw_samples_per_s_cpu"], big["template_vs_raw_cpu"], None)  # fmt: skip
    if m:
        row("2 metric updates/s, B=256 C=47 K=3", m["template_updates_per_s"], m["wrapper_updates_per_s"],
            m["speedup"], BARS["metric"])  # fmt: skip
    if d:
        row("3 loading samples/s, B=256", d["template_samples_per_s"], d["slicing_samples_per_s"],
            d["template_vs_slicing"], BARS["loading"])  # fmt: skip
        row("  gathering each batch's rows", d["gathering_samples_per_s"], d["slicing_samples_per_s"],
            d["gathering_vs_slicing"], None)  # fmt: skip
        row("  TensorDataset + DataLoader", d["tensordataset_samples_per_s"], d["slicing_samples_per_s"],
            d["tensordataset_vs_slicing"], None)  # fmt: skip
    if s:
        row("4 s from `python train.py` to first step", s["first_step_s"], None, None, None)
        row("  default run: peak RSS MiB", s["default_run_peak_rss_mib"], None, None, None)
        row("  default run: total s", s["default_run_total_s"], None, None, None)
    if isinstance(results.get("cuda"), dict):
        for name, ours, base, ratio in cuda_report_rows(results["cuda"]):
            row(name, ours, base, ratio, None)
    elif "cuda" in results:
        table.add_row(f"5 CUDA: {results['cuda']}", "", "", "", "")
    for name, ours, base, ratio, verdict in threads_report_rows(results.get("threads", {})):
        table.add_row(name, f"{ours:.1f}", f"{base:.1f}", f"{ratio:.3f}", verdict)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved repeats per comparison")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch CPU threads; 1 keeps CPU-time measurements meaningful on a shared machine",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=Path("benchmark.json"), help="where to write results")
    parser.add_argument("--quick", action="store_true", help="smaller data and runs: a smoke test")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS + OPTIONAL_SECTIONS)}",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")  # per-run tips and notices, not results
    results = run(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    Console(width=120).print(report(results))
    print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
