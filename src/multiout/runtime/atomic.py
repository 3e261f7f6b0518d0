"""Files that are either the old version or the new one, never half of either."""

from __future__ import annotations

import json
import math
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from multiout.runtime import storage


@contextmanager
def atomic_path(path: str | os.PathLike, storage_options: dict[str, Any] | None = None) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed onto `path` when the block ends
    without error (its bytes on disk first), deleted when it raises.

    A rename within one folder is atomic, so a kill while writing leaves the previous file in
    place. The one way this template writes run outputs and checkpoints. For a URL
    (`s3://...`; `storage_options` for its filesystem) the temporary file is local and is
    uploaded in one put when the block ends: an object store shows the old object or the
    whole new one, never part of it.
    """
    if storage.is_url(path):
        with tempfile.TemporaryDirectory(prefix="multiout-upload-") as local:
            tmp = Path(local, storage.name(path))
            yield tmp
            storage.upload(tmp, str(path), storage_options)
        return
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


def write_json_atomic(
    path: str | os.PathLike, data: dict[str, Any], storage_options: dict[str, Any] | None = None
) -> Path | str:
    """`data` as indented JSON at `path` (local, or a URL), written through `atomic_path`."""
    safe = {key: _json_safe(value) for key, value in data.items()}
    with atomic_path(path, storage_options) as tmp:
        tmp.write_text(json.dumps(safe, indent=2) + "\n")
    return storage.location(path)
