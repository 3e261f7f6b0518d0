"""Checkpoint files that are either the old one or the new one, never half of either."""

from __future__ import annotations

from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from multiout.runtime.atomic import atomic_path


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint through `atomic_path`: a kill or an exception while saving leaves
    the previous `last.ckpt` in place. (Lightning's own save goes through a temporary file in the
    system temp dir; moving that onto another filesystem is a copy, which a kill can cut short.)
    A remote path (`s3://...`) gets the whole file in one upload, after it is complete locally.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any = None) -> None:
        if storage_options is not None:
            return super().save_checkpoint(checkpoint, path, storage_options)
        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)
