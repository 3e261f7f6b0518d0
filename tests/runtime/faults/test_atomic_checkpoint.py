"""A checkpoint write that fails halfway leaves the previous checkpoint as it was."""

from __future__ import annotations

import pytest
import torch

from multiout.runtime.faults.atomic_checkpoint import AtomicCheckpointIO


class FailsWhenPickled:
    def __reduce__(self):
        raise RuntimeError("disk vanished")


def test_an_interrupted_write_leaves_the_previous_checkpoint(tmp_path):
    io, path = AtomicCheckpointIO(), tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}, "global_step": 1}, path)
    # torch.save has written part of the file when the failing object comes up.
    big = {"state_dict": {"w": torch.zeros(100_000)}, "global_step": 2, "z": FailsWhenPickled()}
    with pytest.raises(RuntimeError, match="disk vanished"):
        io.save_checkpoint(big, path)
    loaded = io.load_checkpoint(path, weights_only=True)
    assert loaded["global_step"] == 1 and torch.equal(loaded["state_dict"]["w"], torch.ones(3))
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary file left


def test_a_successful_write_replaces_the_checkpoint(tmp_path):
    io, path = AtomicCheckpointIO(), tmp_path / "last.ckpt"
    for step in (1, 2):
        io.save_checkpoint({"global_step": step}, path)
    assert io.load_checkpoint(path, weights_only=True)["global_step"] == 2
