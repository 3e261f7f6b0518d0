"""Files that are either the old version or the new one, never half of either."""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed onto `path` when the block ends
    without error (its bytes on disk first), deleted when it raises.

    A rename within one folder is atomic, so a kill while writing leaves the previous file in
    place. The one way this template writes run outputs and checkpoints.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _json_safe(value: Any) -> Any:
    """NaN (a channel without labels) becomes null: strict JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def write_json_atomic(path: str | os.PathLike, data: dict[str, Any]) -> Path:
    """`data` as indented JSON at `path`, written through `atomic_path`."""
    safe = {key: _json_safe(value) for key, value in data.items()}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(safe, indent=2) + "\n")
    return Path(path)
