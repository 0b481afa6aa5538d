"""Length-bucketed batches by total padded size (ESPnet ``batch_bins``), deterministic and distributed-aware.

Batch size rule: items are sorted by length and packed greedily so that each batch's
*padded size* ``len(batch) * max(length in batch)`` stays within ``batch_bins``. This is
ESPnet2's ``batch_type: numel`` with a feature dimension of 1 (what the padded tensor's
memory scales with); the length unit is whatever the task's ``lengths`` returns (frames or
tokens). A single item longer than ``batch_bins`` gets a batch of its own rather than being
dropped. ``max_batch_size`` caps and ``min_batch_size`` floors the number of items (the floor
wins over ``batch_bins``; a short remainder is merged into the previous batch).

Determinism: the batches are built once from the lengths (ties broken by index); each epoch
only their order changes, by a permutation drawn from ``numpy.random.default_rng([seed, epoch])``.
So the batch sequence is a pure function of ``(lengths, seed, epoch)``.

Distributed: the *global* batches do not depend on the number of processes. Rank ``r`` of
``W`` takes items ``r, r + W, r + 2W, ...`` of every global batch (a strided shard of a
length-sorted batch, so ranks get similar lengths). Hence ``min_batch_size >= W`` is required.

Resuming: ``set_epoch(epoch, start=k)`` skips the first ``k`` batches of that epoch, so a
run restarted from a checkpoint sees exactly the batches it would have seen.
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from torch.utils.data import Sampler


def pack_batches(
    lengths: Sequence[int], batch_bins: int, max_batch_size: Optional[int] = None, min_batch_size: int = 1
) -> List[List[int]]:
    """Greedy packing of length-sorted item indices under ``len(batch) * max_len <= batch_bins``.

    Returns batches of indices, each sorted by increasing length; a vectorised sort, then one
    pass over the items.
    """
    lens = np.asarray(lengths, dtype=np.int64)
    if lens.ndim != 1:
        raise ValueError("lengths must be a 1-D sequence")
    if (lens < 0).any():
        raise ValueError("lengths must be >= 0")
    order = np.argsort(lens, kind="stable")
    cap = max_batch_size if max_batch_size is not None else len(order)
    batches: List[List[int]] = []
    current: List[int] = []
    for idx, length in zip(order.tolist(), lens[order].tolist()):
        longest = max(int(length), 1)
        too_big = (len(current) + 1) * longest > batch_bins or len(current) + 1 > cap
        if current and too_big and len(current) >= min_batch_size:
            batches.append(current)
            current = []
        current.append(idx)
    if current:
        if batches and len(current) < min_batch_size:
            batches[-1].extend(current)
        else:
            batches.append(current)
    return batches


class LengthBucketBatchSampler(Sampler[List[int]]):
    """Yield this rank's shard of each global length-bucketed batch, in a seeded per-epoch order.

    Args:
        lengths: per-item size (frames/tokens), e.g. from ``Task.lengths``.
        batch_bins: bound on ``len(batch) * longest item`` (see module docstring).
        max_batch_size: cap on items per global batch.
        min_batch_size: floor on items per global batch (>= ``num_replicas``).
        shuffle: permute the batch order every epoch; otherwise shortest batches first.
        seed: seed of the per-epoch permutation.
        num_replicas: number of distributed processes ``W``.
        rank: this process's rank ``r``.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_bins: int,
        max_batch_size: Optional[int] = None,
        min_batch_size: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside [0, {num_replicas})")
        self.batches = pack_batches(lengths, batch_bins, max_batch_size, min_batch_size)
        smallest = min((len(b) for b in self.batches), default=num_replicas)
        if smallest < num_replicas:
            raise ValueError(
                f"a batch has {smallest} item(s) but there are {num_replicas} processes: "
                f"set trainer.min_batch_size >= {num_replicas}"
            )
        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch's batch order and skip its first ``start`` batches (resume)."""
        self.epoch = epoch
        self.start = start

    def global_batches(self, epoch: int) -> List[List[int]]:
        """All global batches of ``epoch`` in the order they are served."""
        if not self.shuffle:
            return list(self.batches)
        perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.batches))
        return [self.batches[i] for i in perm.tolist()]

    def shards(self) -> Iterator[Tuple[List[int], int]]:
        """``(this rank's indices, global batch size)`` for each remaining batch of the epoch."""
        for batch in self.global_batches(self.epoch)[self.start :]:
            yield batch[self.rank :: self.num_replicas], len(batch)

    def __iter__(self) -> Iterator[List[int]]:
        for indices, _ in self.shards():
            yield indices

    def __len__(self) -> int:
        return max(len(self.batches) - self.start, 0)
