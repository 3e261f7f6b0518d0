"""A training epoch interrupted after k batches continues with batch k+1, not batch 1."""

from __future__ import annotations

import torch

from multiout.data.batching import IndexedTensors, ShardedBatchSampler, batch_loader


def test_a_restored_sampler_yields_the_rest_of_the_interrupted_epoch():
    sampler = ShardedBatchSampler(num_samples=100, batch_size=8, shuffle=True, seed=3)
    sampler.set_epoch(2)
    full = list(sampler)
    interrupted = ShardedBatchSampler(num_samples=100, batch_size=8, shuffle=True, seed=3)
    interrupted.set_epoch(2)
    batches = iter(interrupted)
    seen = [next(batches) for _ in range(5)]
    state = interrupted.state_dict()
    assert state == {"epoch": 2, "batches_done": 5}

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
    assert interrupted.sampler.state_dict() == {"epoch": 2, "batches_done": 5}
    resumed = loader()
    resumed.sampler.load_state_dict(interrupted.sampler.state_dict())
    rest = list(resumed)
    assert len(seen) + len(rest) == len(full) == len(resumed)
    for (xb, yb), (xf, yf) in zip(seen + rest, full, strict=True):
        assert torch.equal(xb, xf) and torch.equal(yb, yf)
