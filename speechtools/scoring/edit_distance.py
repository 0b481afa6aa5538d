"""Levenshtein alignment with an insertion/deletion/substitution split, batched in numpy.

The tie-breaking is Kaldi's ``LevenshteinEditDistance`` (``src/util/edit-distance-inl.h``),
so the S/D/I counts equal those of ``compute-wer``. For each cell, with the hypothesis as the
outer loop and the reference as the inner loop::

    ins = D[j-1][i] + 1;  del = D[j][i-1] + 1;  sub = D[j-1][i-1] + (ref[i-1] != hyp[j-1])
    if sub < ins and sub < del:  take the diagonal (match or substitution)
    elif del < ins:              take the deletion
    else:                        take the insertion

Every branch picks a minimal predecessor, so the total always equals the Levenshtein distance.

Speed: a whole row of the table (one hypothesis token against all reference positions) is
computed at once for a batch of utterances. The only recurrence inside a row is the deletion
chain ``D[j][i] = min(cand[i], D[j][i-1] + 1)``, which is ``i + cummin(cand[k] - k)`` — a
``np.minimum.accumulate``. Only the substitution count is carried (on every path to a cell,
``I - D = j - i`` and ``I + D + S = cost``); along a chain of deletions it is copied from the
last non-deletion cell, found with ``np.maximum.accumulate``. A batch therefore costs ``max(len(hyp))``
numpy row operations instead of ``len(ref) * len(hyp)`` Python steps per utterance.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Dict, Hashable, List, Optional, Sequence, Tuple

import numpy as np

#: Operation codes stored in back-pointer tables.
OP_DIAG, OP_DEL, OP_INS = 0, 1, 2

Op = Tuple[str, Optional[Hashable], Optional[Hashable]]


@dataclass
class Packed:
    """Integer-coded token sequences stored flat: sequence k is ``flat[offsets[k]:offsets[k+1]]``."""

    flat: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """Length of each sequence."""
        return np.diff(self.offsets)

    def padded(self, index: np.ndarray, pad: int) -> np.ndarray:
        """Sequences ``index`` as an ``int32[len(index), max_len]`` matrix filled with ``pad``."""
        lengths = self.lengths[index]
        width = int(lengths.max()) if len(index) else 0
        cols = np.arange(width)[None, :]
        mask = cols < lengths[:, None]
        if len(self.flat) == 0:
            return np.full((len(index), width), pad, dtype=np.int32)
        pos = np.minimum(self.offsets[index][:, None] + cols, len(self.flat) - 1)
        return np.where(mask, self.flat[pos], pad).astype(np.int32)


def pack_tokens(sequences: Sequence[Sequence[Hashable]], vocab: Dict[Hashable, int]) -> Packed:
    """Map token sequences to integer ids through ``vocab`` (new tokens are added) and pack them."""
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    tokens = itertools.chain.from_iterable(sequences)
    for tok in dict.fromkeys(itertools.chain.from_iterable(sequences)):
        if tok not in vocab:
            vocab[tok] = len(vocab)
    flat = np.fromiter(map(vocab.__getitem__, tokens), dtype=np.int32, count=int(offsets[-1]))
    return Packed(flat, offsets)


def _batch_counts(
    ref: np.ndarray, ref_len: np.ndarray, hyp: np.ndarray, hyp_len: np.ndarray, keep_backpointers: bool
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Kaldi-tie-broken edit counts for one padded batch: returns ``(counts[B, 3], backptr)``.

    ``counts[:, 0..2]`` = insertions, deletions, substitutions. Only the substitution count is
    carried through the table: on any path to cell (ref i, hyp j), ``I + D + S = cost`` and
    ``I - D = j - i``, which give I and D. ``backptr`` (if asked) has shape ``[B, H+1, R+1]``
    with :data:`OP_DIAG`/:data:`OP_DEL`/:data:`OP_INS` per cell.
    """
    n = ref.shape[0]
    width = ref.shape[1] + 1
    rows = np.arange(n)
    pos = np.arange(width, dtype=np.int32)[None, :]
    cost = np.broadcast_to(pos, (n, width)).copy()
    sub = np.zeros((n, width), dtype=np.int32)

    final_cost = ref_len.copy()
    final_sub = np.zeros(n, dtype=np.int64)

    backptr = None
    if keep_backpointers:
        backptr = np.empty((n, hyp.shape[1] + 1, width), dtype=np.int8)
        backptr[:, 0, :] = OP_DEL
        backptr[:, 0, 0] = OP_DIAG

    for j in range(1, hyp.shape[1] + 1):
        mismatch = (ref != hyp[:, j - 1 : j]).astype(np.int32)
        ins_err = cost + 1
        sub_err = cost[:, :-1] + mismatch
        cand = ins_err.copy()
        np.minimum(ins_err[:, 1:], sub_err, out=cand[:, 1:])
        new_cost = np.minimum.accumulate(cand - pos, axis=1) + pos
        del_err = new_cost[:, :-1] + 1

        take_sub = (sub_err < ins_err[:, 1:]) & (sub_err < del_err)
        take_del = ~take_sub & (del_err < ins_err[:, 1:])
        not_del = np.ones((n, width), dtype=bool)
        not_del[:, 1:] = ~take_del
        anchor = np.maximum.accumulate(np.where(not_del, pos, 0), axis=1)
        base_sub = sub.copy()
        base_sub[:, 1:] = np.where(take_sub, sub[:, :-1] + mismatch, sub[:, 1:])
        sub = base_sub[rows[:, None], anchor]
        cost = new_cost
        if backptr is not None:
            op = np.full((n, width), OP_INS, dtype=np.int8)
            op[:, 1:][take_sub] = OP_DIAG
            op[:, 1:][take_del] = OP_DEL
            backptr[:, j, :] = op

        finished = np.flatnonzero(hyp_len == j)
        if len(finished):
            at = ref_len[finished]
            final_cost[finished] = cost[finished, at]
            final_sub[finished] = sub[finished, at]
    indel = final_cost - final_sub
    ins = (indel + hyp_len - ref_len) // 2
    counts = np.column_stack([ins, indel - ins, final_sub])
    return counts, backptr


def _chunks(refs: Packed, hyps: Packed, chunk_size: int, max_cells: int, full_table: bool) -> List[np.ndarray]:
    """Length-sorted index chunks of at most ``chunk_size`` pairs and ``max_cells`` cells: the
    rows held in memory (``pairs × (max ref + 1)``), or with ``full_table`` the back-pointer
    tables (``pairs × (max hyp + 1) × (max ref + 1)``). A single pair may exceed the bound."""
    order = np.lexsort((refs.lengths, hyps.lengths))
    ref_len = refs.lengths[order] + 1
    hyp_len = hyps.lengths[order] + 1
    chunks: List[np.ndarray] = []
    start = 0
    while start < len(order):
        stop = min(start + chunk_size, len(order))
        widest = np.maximum.accumulate(ref_len[start:stop])
        if full_table:
            widest = widest * np.maximum.accumulate(hyp_len[start:stop])
        fits = np.flatnonzero(widest * np.arange(1, stop - start + 1) <= max_cells)
        stop = start + (int(fits[-1]) + 1 if len(fits) else 1)
        chunks.append(order[start:stop])
        start = stop
    return chunks


def batch_edit_counts(refs: Packed, hyps: Packed, chunk_size: int = 4096, progress: bool = False) -> np.ndarray:
    """Insertions, deletions, substitutions (``int64[N, 3]``) for N packed integer-coded pairs.

    Implements Levenshtein (1966) edit distance with Kaldi's tie-breaking (module docstring);
    pairs are sorted by length and processed in chunks so padding stays small.
    """
    if len(refs) != len(hyps):
        raise ValueError("refs and hyps differ in length")
    out = np.zeros((len(refs), 3), dtype=np.int64)
    chunks = _chunks(refs, hyps, chunk_size, max_cells=1 << 21, full_table=False)
    if progress:
        from tqdm import tqdm

        chunks = tqdm(chunks, desc="aligning", unit="chunk", leave=False, disable=None)
    for idx in chunks:
        counts, _ = _batch_counts(refs.padded(idx, -1), refs.lengths[idx], hyps.padded(idx, -2), hyps.lengths[idx], False)
        out[idx] = counts
    return out


def _backtrace(backptr: np.ndarray, ref_len: int, hyp_len: int) -> List[Tuple[int, int, int]]:
    """Follow back-pointers from ``(hyp_len, ref_len)``; returns ``(op, ref_pos, hyp_pos)`` in order."""
    steps: List[Tuple[int, int, int]] = []
    j, i = hyp_len, ref_len
    while i > 0 or j > 0:
        if j == 0:
            op = OP_DEL
        elif i == 0:
            op = OP_INS
        else:
            op = int(backptr[j, i])
        if op == OP_DIAG:
            i, j = i - 1, j - 1
        elif op == OP_DEL:
            i -= 1
        else:
            j -= 1
        steps.append((op, i, j))
    steps.reverse()
    return steps


def batch_align(
    refs: Sequence[Sequence[Hashable]], hyps: Sequence[Sequence[Hashable]], chunk_size: int = 1024
) -> List[List[Op]]:
    """Alignments ``[(op, ref_token, hyp_token), ...]`` (op in C/S/D/I) for many pairs.

    Same tie-breaking as :func:`batch_edit_counts`, so the ops of each alignment reproduce
    its counts (Kaldi ``compute-wer`` split).
    """
    vocab: Dict[Hashable, int] = {}
    ref_ids = pack_tokens(refs, vocab)
    hyp_ids = pack_tokens(hyps, vocab)
    out: List[List[Op]] = [[] for _ in range(len(refs))]
    for idx in _chunks(ref_ids, hyp_ids, chunk_size, max_cells=1 << 25, full_table=True):
        _, backptr = _batch_counts(
            ref_ids.padded(idx, -1), ref_ids.lengths[idx], hyp_ids.padded(idx, -2), hyp_ids.lengths[idx], True
        )
        assert backptr is not None
        for row, k in enumerate(idx):
            ref, hyp = refs[k], hyps[k]
            ops: List[Op] = []
            for op, i, j in _backtrace(backptr[row], len(ref), len(hyp)):
                if op == OP_DIAG:
                    ops.append(("C" if ref[i] == hyp[j] else "S", ref[i], hyp[j]))
                elif op == OP_DEL:
                    ops.append(("D", ref[i], None))
                else:
                    ops.append(("I", None, hyp[j]))
            out[k] = ops
    return out


def kaldi_edit_counts_python(ref: Sequence[Hashable], hyp: Sequence[Hashable]) -> Tuple[int, int, int, int]:
    """Plain-Python port of Kaldi's ``LevenshteinEditDistance``: ``(total, ins, del, sub)``.

    The one-cell-at-a-time baseline used by tests and ``bench/wer_speed.py``.
    """
    prev = [(i, 0, i, 0) for i in range(len(ref) + 1)]
    for h in hyp:
        first = prev[0]
        cur = [(first[0] + 1, first[1] + 1, first[2], first[3])]
        for i in range(1, len(ref) + 1):
            ins_err = prev[i][0] + 1
            del_err = cur[i - 1][0] + 1
            miss = ref[i - 1] != h
            sub_err = prev[i - 1][0] + miss
            if sub_err < ins_err and sub_err < del_err:
                p = prev[i - 1]
                cur.append((sub_err, p[1], p[2], p[3] + miss))
            elif del_err < ins_err:
                p = cur[i - 1]
                cur.append((del_err, p[1], p[2] + 1, p[3]))
            else:
                p = prev[i]
                cur.append((ins_err, p[1] + 1, p[2], p[3]))
        prev = cur
    return prev[-1]
