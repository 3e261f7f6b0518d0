"""Every speed trick that reaches into Lightning's internals, in one removable place.

On a CPU a default training step takes a few milliseconds, so Lightning's own per-step Python
work shows; on a GPU every read of a tensor's value by the host makes the CPU wait for the
queued kernels. The tricks here win back what is worth it (measured in docs/benchmarks.md):

- `LeanHooks`, a LightningModule mixin: remove it from `MultiOutputClassifier`'s bases to go
  back to plain Lightning; `tests/runtime/test_speed.py` fails if a Lightning upgrade breaks
  what it relies on. It installs `share_scalar_conversions` and `call_overriding_callbacks_only`
  when a fit starts.
- `NoProfiler`, the default `trainer.profiler` (`conf/trainer/default.yaml`); `trainer.profiler=null`
  restores Lightning's pass-through profiler.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from contextlib import AbstractContextManager
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.profilers import Profiler
from lightning.pytorch.trainer import call
from lightning.pytorch.trainer.connectors.logger_connector import logger_connector, result
from lightning_utilities.core.apply_func import apply_to_collection
from torch import Tensor
from torch.multiprocessing.reductions import StorageWeakRef

from multiout.runtime.lightning_internals import should_update_logs

_NOTHING = contextlib.nullcontext()


class LeanHooks(L.LightningModule):
    """Training steps without Lightning's per-call work that no one reads.

    - `self.log` from `training_step` with step-level values only does its work (~0.25 ms on
      a CPU: checks, a device move, the result store) on the steps whose values reach the
      loggers (`trainer.log_every_n_steps`); the progress bar shows the last logged value. (A
      step at which a callback stops training mid-epoch, such as `trainer.max_time`, is
      logged by Lightning without being known as a logging step in advance: its row repeats
      the last logged value.)
    - Lightning stores the running hook's name in `_current_fx_name` about 40 times a step;
      `nn.Module.__setattr__` first checks each value against the parameter, buffer and
      module types (~3% of a default CPU step). A name is none of those: stored directly.
    - Each logged tensor is turned into a number once (`share_scalar_conversions`), and a hook
      goes only to the callbacks that implement it (`call_overriding_callbacks_only`), both
      installed when a fit starts: importing or building a model changes nothing in Lightning.
    """

    def on_fit_start(self) -> None:
        share_scalar_conversions()
        call_overriding_callbacks_only()
        super().on_fit_start()

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def log(self, name: str, value: Any, *args: Any, **kwargs: Any) -> None:
        if self._skips_step_log(kwargs):
            return
        super().log(name, value, *args, **kwargs)

    def log_dict(self, dictionary: Any, *args: Any, **kwargs: Any) -> None:
        if self._skips_step_log(kwargs):
            return
        super().log_dict(dictionary, *args, **kwargs)

    def _skips_step_log(self, options: dict[str, Any]) -> bool:
        """Whether this is a step-only value logged from `training_step` on a step whose logged
        values Lightning will not hand to the loggers."""
        if self._trainer is None:
            return True  # a step called by hand: Lightning would only warn and drop the value
        if self._current_fx_name != "training_step":
            return False
        if options.get("on_epoch") or options.get("on_step") is False or self._fast_dev_run():
            return False  # accumulated over the epoch (every step counts), or a one-batch check
        return not should_update_logs(self.trainer)

    def _fast_dev_run(self) -> bool:
        return bool(self.trainer.fast_dev_run)  # type: ignore[attr-defined]


class _ScalarMemo:
    """The Python number of each recently converted one-element tensor, while it is unchanged.

    Lightning hands over a fresh `detach()` of the logged tensor at each conversion, so a
    tensor is known by its storage (held weakly: while the entry lives, no new storage can
    take its address) and its version counter, which the detached copies share.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple, tuple[StorageWeakRef, int, Any]] = OrderedDict()

    def to_item(self, value: Tensor) -> Any:
        if value.numel() != 1:
            raise ValueError(f"The metric `{value}` does not contain a single element, thus it cannot be converted to a scalar.")  # fmt: skip
        if value.is_inference():  # no version counter: in-place changes would go unseen
            return value.item()
        storage = StorageWeakRef(value.untyped_storage())
        key, version = (storage.cdata, value.storage_offset(), value.dtype), value._version
        hit = self._items.get(key)
        if hit is not None and not hit[0].expired() and hit[1] == version:
            return hit[2]
        number = value.item()
        self._items[key] = (storage, version, number)
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return number

    def convert(self, data: Any) -> Any:
        """Lightning's `convert_tensors_to_scalars`, reading each unchanged tensor once."""
        return apply_to_collection(data, Tensor, self.to_item)


_MEMO = _ScalarMemo()


def share_scalar_conversions() -> None:
    """Lightning turns every progress-bar value into a Python number (`.item()`, a host read
    that waits for the GPU) whenever it collects logged values: two or three times at every
    training step, also at the steps that logged nothing new, where it converts the same
    tensor again. With this, each logged tensor is read once, when first converted, and later
    conversions reuse that number while the tensor is unchanged (same storage, same version).

    Patches the name `convert_tensors_to_scalars` in Lightning's result collection and logger
    connector, for every later trainer in the process too; the numbers are the same as without
    it. Called by `LeanHooks.on_fit_start` only.
    """
    for module in (result, logger_connector):
        module.convert_tensors_to_scalars = _MEMO.convert  # type: ignore[attr-defined]


_LIGHTNING_CALLBACK_HOOKS = call._call_callback_hooks


def _call_overriding_callbacks(
    trainer: L.Trainer, hook_name: str, *args: Any, monitoring_callbacks: bool | None = None, **kwargs: Any
) -> None:
    """Lightning's `_call_callback_hooks` without the calls that do nothing: a callback whose
    hook is `Callback`'s own (empty) one is skipped, and no profiler name is built per call."""
    if monitoring_callbacks is not None or not isinstance(trainer.profiler, NoProfiler):  # type: ignore[attr-defined]
        _LIGHTNING_CALLBACK_HOOKS(trainer, hook_name, *args, monitoring_callbacks=monitoring_callbacks, **kwargs)  # fmt: skip
        return
    base = getattr(Callback, hook_name, None)  # a function: what a bound method's __func__ is
    pl_module = trainer.lightning_module
    if pl_module:
        previous, pl_module._current_fx_name = pl_module._current_fx_name, hook_name
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        fn = getattr(callback, hook_name)
        if getattr(fn, "__func__", None) is not base and callable(fn):
            fn(trainer, pl_module, *args, **kwargs)
    if pl_module:
        pl_module._current_fx_name = previous


def call_overriding_callbacks_only() -> None:
    """Lightning calls every hook of every callback, six hooks a training step, each through a
    profiler context named after the callback (for `EarlyStopping` and `ModelCheckpoint` a
    formatted dict): with the eight callbacks of a default run, 6.8 µs a hook, against 1.6 µs
    with this, some 0.6% of a default CPU training step (docs/benchmarks.md). With this, a hook reaches only the callbacks that implement it, in the same
    order, and with any profiler but `NoProfiler` Lightning's own function runs.

    Patches `_call_callback_hooks` in Lightning's `trainer.call` module, for every later
    trainer in the process too. Called by `LeanHooks.on_fit_start` only.
    """
    call._call_callback_hooks = _call_overriding_callbacks


class NoProfiler(Profiler):
    """Lightning's `PassThroughProfiler`, without its per-call cost.

    Lightning wraps every hook call, for every callback, in `trainer.profiler.profile(name)`:
    about a hundred times a training step here. The pass-through profiler builds a
    generator-based context manager on each call (~1 µs); this one hands back one shared
    `nullcontext`. `debug=profiler` (or any `trainer.profiler`) replaces it.
    """

    def start(self, action_name: str) -> None:
        pass

    def stop(self, action_name: str) -> None:
        pass

    def profile(self, action_name: str) -> AbstractContextManager[None]:  # type: ignore[override]
        return _NOTHING

    def summary(self) -> str:
        return ""
