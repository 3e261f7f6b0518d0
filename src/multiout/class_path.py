"""Classes named in configs by import path (`pkg.module.Class`), without a registry."""

from __future__ import annotations

import importlib

from multiout.errors import InputError


def import_class(path: str, key: str) -> type:
    """The class at `path`; a path that does not import is an `InputError` naming config `key`."""
    module_name, _, class_name = str(path).rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as err:
        raise InputError(f"{key} must be an importable class path, got {path!r}") from err
    if not isinstance(found, type):
        raise InputError(f"{key} must name a class, got {path!r}")
    return found
