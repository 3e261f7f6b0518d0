"""A training epoch interrupted after k batches continues with batch k+1, not batch 1."""

from __future__ import annotations

import pytest
import torch

from multiout.data.batching import IndexedTensors, ShardedBatchSampler, batch_loader
from multiout.errors import InputError


def test_a_restored_sampler_yields_the_rest_of_the_interrupted_epoch():
    sampler = ShardedBatchSampler(num_samples=100, batch_size=8, shuffle=True, seed=3)
    sampler.set_epoch(2)
    full = list(sampler)
    interrupted = ShardedBatchSampler(num_samples=100, batch_size=8, shuffle=True, seed=3)
    interrupted.set_epoch(2)
    batches = iter(interrupted)
    seen = [next(batches) for _ in range(5)]
    state = interrupted.state_dict()
    assert state == {
        "epoch": 2, "batches_done": 5, "num_samples": 100, "batch_size": 8, "world_size": 1, "seed": 3, "shuffle": 1,
    }  # fmt: skip

    resumed = ShardedBatchSampler(num_samples=100, batch_size=8, shuffle=True, seed=3)
    resumed.load_state_dict(state)
    resumed.set_epoch(2)
    rest = list(resumed)
    assert all(torch.equal(a, b) for a, b in zip(seen + rest, full, strict=True))
    resumed.set_epoch(3)  # the next epoch is whole again
    assert len(list(resumed)) == len(sampler)


def test_a_state_saved_at_an_epoch_end_skips_nothing_in_the_next_epoch():
    sampler = ShardedBatchSampler(num_samples=100, batch_size=8, shuffle=True, seed=3)
    list(sampler)
    resumed = ShardedBatchSampler(num_samples=100, batch_size=8, shuffle=True, seed=3)
    resumed.load_state_dict(sampler.state_dict())
    resumed.set_epoch(1)
    assert len(list(resumed)) == len(sampler)


def test_the_in_memory_loader_resumes_after_the_batches_it_handed_out():
    x = torch.arange(300, dtype=torch.float32).view(100, 3)
    y = torch.arange(200).view(100, 2)

    def loader():
        made = batch_loader(IndexedTensors(x, y), batch_size=8, shuffle=True, seed=3)
        made.sampler.set_epoch(2)
        return made

    full = list(loader())
    interrupted = loader()
    batches = iter(interrupted)
    seen = [next(batches) for _ in range(5)]
    assert interrupted.sampler.state_dict()["batches_done"] == 5
    resumed = loader()
    resumed.sampler.load_state_dict(interrupted.sampler.state_dict())
    rest = list(resumed)
    assert len(seen) + len(rest) == len(full) == len(resumed)
    for (xb, yb), (xf, yf) in zip(seen + rest, full, strict=True):
        assert torch.equal(xb, xf) and torch.equal(yb, yf)


def _stopped_after(batches: int, **layout) -> dict[str, int]:
    sampler = ShardedBatchSampler(**{"num_samples": 100, "batch_size": 8, "shuffle": True, **layout})
    sampler.set_epoch(2)
    for _ in zip(range(batches), sampler, strict=False):
        pass
    return sampler.state_dict()


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"world_size": 2}, r"with processes \(trainer.devices x trainer.num_nodes\) 1; this run has .* 2\."),
        ({"batch_size": 16}, r"with data.batch_size 8; this run has data.batch_size 16\."),
        (
            {"num_samples": 90},
            r"with training samples \(data\) 100; this run has training samples \(data\) 90\.",
        ),
        (  # every setting that differs, and what to do
            {"world_size": 2, "batch_size": 16},
            r"with data.batch_size 8, processes \(trainer.devices x trainer.num_nodes\) 1; this run has "
            r"data.batch_size 16, processes \(trainer.devices x trainer.num_nodes\) 2\. Resume with the same "
            r"settings \(the first launch's overrides\), or from an epoch-end checkpoint$",
        ),
    ],
)
def test_a_mid_epoch_state_refuses_an_epoch_cut_differently(changed, message):
    state = _stopped_after(5)
    resumed = ShardedBatchSampler(**{"num_samples": 100, "batch_size": 8, "shuffle": True, **changed})
    resumed.load_state_dict(state)
    resumed.set_epoch(2)
    with pytest.raises(InputError, match=rf"stopped mid-epoch \(epoch 2, after 5 batches\).*{message}"):
        list(resumed)


def test_an_epoch_end_epoch_start_or_older_state_resumes_under_any_cut():
    at_epoch_end = _stopped_after(len(ShardedBatchSampler(100, 8, shuffle=True)))
    at_epoch_start = _stopped_after(0)  # nothing of epoch 2 to skip
    older = {"epoch": 2, "batches_done": 1}  # written before states recorded the cut: trusted
    for state, epoch, expected in ((at_epoch_end, 3, 4), (at_epoch_start, 2, 4), (older, 2, 3)):
        resumed = ShardedBatchSampler(num_samples=100, batch_size=16, shuffle=True, world_size=2)
        resumed.load_state_dict(state)
        resumed.set_epoch(epoch)
        assert len(list(resumed)) == expected


def test_a_state_saved_after_an_epochs_last_batch_leaves_that_epoch_empty_under_any_cut():
    state = _stopped_after(13)  # all 13 batches of epoch 2
    resumed = ShardedBatchSampler(num_samples=100, batch_size=16, shuffle=True, world_size=2)
    resumed.load_state_dict(state)
    resumed.set_epoch(2)
    assert list(resumed) == []
