"""A training epoch interrupted after k batches continues with batch k+1, not batch 1."""

from __future__ import annotations

import torch

from multiout.data.batching import ShardedBatchSampler


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
