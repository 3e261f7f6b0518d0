"""Host reads during training: every time the CPU waits for a tensor's value.

    python scripts/bench/host_reads.py [hydra overrides]    # e.g. trainer.max_epochs=2

A host read is `aten._local_scalar_dense` (what `.item()`, `bool()`, `float()`, `int()` of a
tensor call) or a copy from an accelerator to the CPU (`.tolist()`, `.cpu()` of a GPU tensor).
On a GPU each one makes the CPU wait until the queued kernels have run, so the next step's
kernels cannot be queued ahead: steps that read nothing keep the GPU busy. On a CPU the
same calls cost little, but they are the same calls, so counting them on a CPU tells what a
GPU run would wait for.

`HostReadCounter` counts from the end of the first training step (the first step builds and
warms up what later steps reuse) to the end of training, validation excluded, step by step,
and notes where each read came from. The template's bound for the default config: at most
3 reads per logging step (`trainer.log_every_n_steps`) plus 10 per epoch, and none in a
step that neither logs nor ends an epoch (`tests/runtime/test_host_reads.py`).
"""

from __future__ import annotations

import collections
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from multiout.runtime.lightning_internals import should_update_logs

_SCALAR = torch.ops.aten._local_scalar_dense.default
_COPIES = {torch.ops.aten._to_copy.default, torch.ops.aten.copy_.default}
# Frames skipped when naming a read's caller: torch itself, this file, context managers.
_SKIPPED = (str(Path(torch.__file__).parent) + "/", __file__, "contextlib.py")


def _is_host_read(func: Any, args: tuple, kwargs: dict) -> bool:
    if func is _SCALAR:
        return True
    if func in _COPIES:
        # `_to_copy(src, device=...)`; `copy_(dst, src)`: a device tensor landing on the CPU.
        src = args[1] if func is torch.ops.aten.copy_.default else args[0]
        dst_device = args[0].device if func is torch.ops.aten.copy_.default else kwargs.get("device")
        return (
            isinstance(src, torch.Tensor)
            and src.device.type != "cpu"
            and torch.device(dst_device or src.device).type == "cpu"
        )
    return False


def _caller() -> str:
    """The innermost frame outside torch and this file, e.g. `metrics/training.py:update`."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        path = frame.filename.replace("\\", "/")
        if not path.startswith(_SKIPPED[:2]) and not path.endswith(_SKIPPED[2]):
            parts = path.split("/")
            return "/".join(parts[-3:] if "lightning" in path else parts[-2:]) + f":{frame.name}"
    return "?"


class _CountingMode(TorchDispatchMode):
    def __init__(self, counter: HostReadCounter) -> None:
        super().__init__()
        self.counter = counter

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if _is_host_read(func, args, kwargs):
            self.counter.reads += 1
            if self.counter.where:
                self.counter.sources[_caller()] += 1
        return func(*args, **kwargs)


class HostReadCounter(L.Callback):
    """Counts host reads of training after its first step (validation excluded), step by step.

    A step's reads run from its `on_train_batch_start` to the next one's: its logging comes
    after its `on_train_batch_end`. The last step of an epoch also holds the epoch-end work.
    `where=True` also notes each read's caller in `sources` (slower: a stack walk per read).
    `cuda_syncs=True` also has torch warn of every synchronizing CUDA call while counting
    (`torch.cuda.set_sync_debug_mode`): a caller recording warnings counts those too.
    """

    def __init__(self, where: bool = False, cuda_syncs: bool = False) -> None:
        self.where = where
        self.cuda_syncs = cuda_syncs
        self.reads = 0
        self.sources: collections.Counter[str] = collections.Counter()
        self.steps: list[dict[str, Any]] = []  # {"step", "logged", "last_in_epoch", "reads"}
        self.epochs = 0
        self._mode: _CountingMode | None = None
        self._paused = False
        self._reads_before_step = 0

    def _start(self) -> None:
        if self._mode is None:
            self._mode = _CountingMode(self)
            self._mode.__enter__()
            if self.cuda_syncs:
                torch.cuda.set_sync_debug_mode("warn")

    def _stop(self) -> None:
        if self._mode is not None:
            if self.cuda_syncs:
                torch.cuda.set_sync_debug_mode("default")
            self._mode.__exit__(None, None, None)
            self._mode = None

    def _close_step(self) -> None:
        if self.steps and self.steps[-1]["reads"] is None:
            self.steps[-1]["reads"] = self.reads - self._reads_before_step

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._close_step()
        self._reads_before_step = self.reads

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self._mode is None:
            self._start()  # the first step is over: count from its logging on
            self._reads_before_step = 0
        self.steps.append({
            "step": trainer.global_step - 1,
            "logged": should_update_logs(trainer),
            "last_in_epoch": batch_idx + 1 == trainer.num_training_batches,
            "reads": None,
        })  # fmt: skip

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.epochs += self._mode is not None

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._paused = self._mode is not None
        self._stop()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._paused:
            self._start()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._stop()
        self._close_step()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._stop()

    def bound(self, per_logged_step: int = 3, per_epoch: int = 10) -> int:
        """The most reads the template allows for what was counted."""
        logged = sum(step["logged"] for step in self.steps)
        return per_logged_step * logged + per_epoch * self.epochs

    def summary(self) -> dict[str, Any]:
        quiet = [s for s in self.steps if not s["logged"] and not s["last_in_epoch"]]
        return {
            "host_reads": self.reads,
            "steps": len(self.steps),
            "logged_steps": sum(step["logged"] for step in self.steps),
            "epochs": self.epochs,
            "bound": self.bound(),
            "reads_on_quiet_steps": sum(step["reads"] or 0 for step in quiet),
            "quiet_steps": len(quiet),
            "sources": dict(self.sources.most_common()),
        }


def count_training_reads(
    overrides: list[str], output_dir: Path, where: bool = True, cuda_syncs: bool = False
) -> dict[str, Any]:
    """Host reads of `python train.py <overrides>`'s fit (no test), counted by `HostReadCounter`;
    `cuda_syncs`: also the synchronizing CUDA calls torch warns of (`cuda_sync_warnings`)."""
    from bench.training import compose_train_config

    from multiout.runtime.build import build, build_model, build_trainer, data_spec

    repo = Path(__file__).resolve().parents[2]
    cfg = compose_train_config(repo / "conf", output_dir, overrides)
    L.seed_everything(cfg.seed, verbose=False)
    datamodule = build(cfg.data)
    model = build_model(cfg.model, data_spec(datamodule, cfg.data))
    counter = HostReadCounter(where=where, cuda_syncs=cuda_syncs)
    trainer = build_trainer(cfg, extra_callbacks=[counter])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(model, datamodule=datamodule)
    syncs = sum("synchroniz" in str(w.message) for w in caught)
    return {**counter.summary(), **({"cuda_sync_warnings": syncs} if cuda_syncs else {})}


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = count_training_reads(sys.argv[1:], Path(tmp))
    print(f"host reads: {result['host_reads']} in {result['steps']} steps ({result['logged_steps']} logged, "
          f"{result['epochs']} epochs; bound {result['bound']}), {result['reads_on_quiet_steps']} of them "
          f"in the {result['quiet_steps']} steps that neither log nor end an epoch")  # fmt: skip
    for source, count in result["sources"].items():
        print(f"  {count:6d}  {source}")


if __name__ == "__main__":
    main()
