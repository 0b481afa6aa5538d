"""Length-bucketed batch sampler: bins bound, coverage, determinism, sharding, resume position."""

from __future__ import annotations

import numpy as np
import pytest

from speechtools.data.sampler import LengthBucketBatchSampler, pack_batches


@pytest.fixture
def lengths() -> list:
    return np.random.default_rng(0).integers(1, 60, size=203).tolist()


def test_batches_respect_bins_and_cover_every_item_once(lengths: list) -> None:
    batches = pack_batches(lengths, batch_bins=200)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(lengths)))
    for b in batches:
        assert len(b) * max(lengths[i] for i in b) <= 200
    # greedy: adding the next-longer item to a batch would have broken the bound
    ordered = [i for b in batches for i in b]
    for b, nxt in zip(batches, batches[1:]):
        assert (len(b) + 1) * lengths[nxt[0]] > 200
    assert ordered == sorted(range(len(lengths)), key=lambda i: (lengths[i], i))


def test_long_item_gets_own_batch_and_caps_apply() -> None:
    assert pack_batches([5, 500, 5, 5], batch_bins=100) == [[0, 2, 3], [1]]
    assert pack_batches([1] * 10, batch_bins=100, max_batch_size=4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    # the floor wins over bins; a short remainder joins the previous batch
    assert pack_batches([10] * 5, batch_bins=20, min_batch_size=2) == [[0, 1], [2, 3, 4]]


def test_order_is_deterministic_per_seed_and_epoch(lengths: list) -> None:
    a = LengthBucketBatchSampler(lengths, 200, seed=5)
    b = LengthBucketBatchSampler(lengths, 200, seed=5)
    a.set_epoch(3)
    b.set_epoch(3)
    assert list(a) == list(b)
    b.set_epoch(4)
    assert list(a) != list(b)
    assert sorted(map(tuple, a.global_batches(3))) == sorted(map(tuple, a.global_batches(4)))
    c = LengthBucketBatchSampler(lengths, 200, seed=6)
    c.set_epoch(3)
    assert list(a) != list(c)


@pytest.mark.parametrize("world", [2, 3])
def test_shards_partition_global_batches_independent_of_world_size(lengths: list, world: int) -> None:
    single = LengthBucketBatchSampler(lengths, 200, min_batch_size=3, seed=1)
    ranks = [LengthBucketBatchSampler(lengths, 200, min_batch_size=3, seed=1, num_replicas=world, rank=r) for r in range(world)]
    for s in [single, *ranks]:
        s.set_epoch(2)
    assert all(r.global_batches(2) == single.global_batches(2) for r in ranks)
    per_rank = [list(r.shards()) for r in ranks]
    for step, global_batch in enumerate(single):
        pieces = [per_rank[r][step][0] for r in range(world)]
        assert sorted(i for p in pieces for i in p) == sorted(global_batch)
        assert all(per_rank[r][step][1] == len(global_batch) for r in range(world))
        assert max(map(len, pieces)) - min(map(len, pieces)) <= 1


def test_resume_position_skips_consumed_batches(lengths: list) -> None:
    sampler = LengthBucketBatchSampler(lengths, 200, seed=9)
    sampler.set_epoch(1)
    full = list(sampler)
    sampler.set_epoch(1, start=4)
    assert list(sampler) == full[4:]
    assert len(sampler) == len(full) - 4


def test_too_many_processes_for_batch_size_is_an_error() -> None:
    with pytest.raises(ValueError, match="min_batch_size"):
        LengthBucketBatchSampler([50, 50, 50], batch_bins=50, num_replicas=2, rank=0)
