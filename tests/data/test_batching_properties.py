"""The sampler's promises over random layouts: each sample once per epoch across all processes,
equal batch counts, no batch over `batch_size`, and a resume that continues where it stopped."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from multiout.data.batching import IndexedTensors, ShardedBatchSampler, batch_loader


@st.composite
def layouts(draw) -> dict:
    """Sampler settings, with sample counts that are often not a multiple of batch x processes."""
    world_size = draw(st.integers(1, 8))
    return {
        "num_samples": draw(st.integers(world_size, 300)),
        "batch_size": draw(st.integers(1, 40)),
        "world_size": world_size,
        "shuffle": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**32)),
    }


def epoch_batches(layout: dict, rank: int, epoch: int) -> list[torch.Tensor]:
    sampler = ShardedBatchSampler(rank=rank, **layout)
    sampler.set_epoch(epoch)
    return list(sampler)


@settings(max_examples=150, deadline=None)
@given(layout=layouts(), epoch=st.integers(0, 5))
def test_one_epoch_over_all_ranks_uses_every_sample_once(layout, epoch):
    n, batch_size, world = layout["num_samples"], layout["batch_size"], layout["world_size"]
    per_rank = [epoch_batches(layout, rank, epoch) for rank in range(world)]
    expected_batches = -(-n // (batch_size * world))  # ceil, by hand
    assert [len(batches) for batches in per_rank] == [expected_batches] * world
    assert all(len(b) <= batch_size for batches in per_rank for b in batches)
    # Step by step, the ranks together take the next `world` chunks of one epoch order.
    interleaved = torch.cat([per_rank[r][i] for i in range(expected_batches) for r in range(world)])
    assert sorted(interleaved.tolist()) == list(range(n))
    if not layout["shuffle"]:
        assert interleaved.tolist() == list(range(n))


@settings(max_examples=150, deadline=None)
@given(
    layout=layouts(),
    data=st.data(),
    epoch=st.integers(0, 5),
    load_first=st.booleans(),
    through_loader=st.booleans(),
)
def test_a_fresh_sampler_loaded_mid_epoch_yields_exactly_the_rest(
    layout, data, epoch, load_first, through_loader
):
    rank = data.draw(st.integers(0, layout["world_size"] - 1), label="rank")
    full = epoch_batches(layout, rank, epoch)
    stop = data.draw(st.integers(0, len(full)), label="batches before the stop")
    rows = torch.arange(layout["num_samples"])

    def make():
        if through_loader:  # the in-memory loader counts batches itself
            options = {k: v for k, v in layout.items() if k != "num_samples"}
            loader = batch_loader(IndexedTensors(rows), rank=rank, **options)
            return loader, loader.sampler
        sampler = ShardedBatchSampler(rank=rank, **layout)
        return sampler, sampler

    def indices(item) -> torch.Tensor:
        return item[0] if through_loader else item

    interrupted, sampler = make()
    sampler.set_epoch(epoch)
    running = iter(interrupted)
    seen = [indices(next(running)) for _ in range(stop)]
    state = sampler.state_dict()

    resumed, fresh = make()
    if load_first:
        fresh.load_state_dict(state)
        fresh.set_epoch(epoch)
    else:
        fresh.set_epoch(epoch)
        fresh.load_state_dict(state)
    rest = [indices(item) for item in resumed]
    assert len(seen) + len(rest) == len(full)
    assert all(torch.equal(a, b) for a, b in zip(seen + rest, full, strict=True))
