"""Objects from plain config dicts `{"_target_": "pkg.module.Class", **arguments}`.

The one way a class is named in this template's configs (trunk, optimizer, scheduler,
callbacks, loggers). The model keeps such dicts in its hyperparameters, plain values only, so
its checkpoints load with `weights_only=True`, and builds the objects itself with `build`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from multiout.errors import InputError


def locate(path: str, key: str) -> type:
    """The class at import path `path`; one that does not import is an `InputError` naming `key`."""
    module_name, _, class_name = str(path).rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as err:
        raise InputError(f"{key}: {path!r} is not an importable class path ({err})") from err
    if not isinstance(found, type):
        raise InputError(f"{key}: {path!r} is not a class")
    return found


def target_class(spec: Mapping[str, Any], key: str) -> type:
    """The class `spec["_target_"]` names, its other keys checked against its constructor, so
    that a misspelt name or option fails when the model is built, before training starts."""
    if "_target_" not in spec:
        raise InputError(f"{key}: expected a `_target_` key naming a class, got keys {sorted(spec)}")
    cls = locate(spec["_target_"], f"{key}._target_")
    accepted = inspect.signature(cls).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(spec) - {"_target_"} - set(accepted))
        if unknown:
            raise InputError(
                f"{key}: {cls.__name__} takes no argument {unknown[0]!r} (drop it with ~{key}.{unknown[0]}); "
                f"it takes {sorted(set(accepted) - {'self', 'params', 'optimizer'})}"
            )
    return cls


def build(spec: Mapping[str, Any], key: str, *args: Any, **kwargs: Any) -> Any:
    """`spec["_target_"](*args, **kwargs, **other keys of spec)`; a constructor's own
    error for a bad argument value becomes an `InputError` naming `key`."""
    cls = target_class(spec, key)
    options = {name: value for name, value in spec.items() if name != "_target_"}
    try:
        return cls(*args, **kwargs, **options)
    except InputError:
        raise
    except (TypeError, ValueError, RuntimeError) as err:
        raise InputError(f"{key}: {cls.__name__}({_text(options)}) failed: {err}") from err


def _text(options: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in sorted(options.items()))
