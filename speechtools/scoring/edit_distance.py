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
``np.minimum.accumulate``. Counts along a chain of deletions are recovered from the last
non-deletion cell with ``np.maximum.accumulate``. A batch therefore costs ``max(len(hyp))``
numpy row operations instead of ``len(ref) * len(hyp)`` Python steps per utterance.
"""

from __future__ import annotations

from typing import Dict, Hashable, List, Optional, Sequence, Tuple

import numpy as np

#: Operation codes stored in back-pointer tables.
OP_DIAG, OP_DEL, OP_INS = 0, 1, 2

Op = Tuple[str, Optional[Hashable], Optional[Hashable]]


def encode_tokens(sequences: Sequence[Sequence[Hashable]], vocab: Dict[Hashable, int]) -> List[np.ndarray]:
    """Map token sequences to int32 arrays through ``vocab`` (new tokens are added)."""
    out = []
    for seq in sequences:
        ids = [vocab.setdefault(tok, len(vocab)) for tok in seq]
        out.append(np.asarray(ids, dtype=np.int32))
    return out


def _pad(seqs: Sequence[np.ndarray], pad: int) -> np.ndarray:
    width = max((len(s) for s in seqs), default=0)
    out = np.full((len(seqs), width), pad, dtype=np.int32)
    for row, s in enumerate(seqs):
        out[row, : len(s)] = s
    return out


def _batch_counts(
    refs: Sequence[np.ndarray], hyps: Sequence[np.ndarray], keep_backpointers: bool
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Kaldi-tie-broken edit counts for one batch: returns ``(counts[B, 3], backptr)``.

    ``counts[:, 0..2]`` = insertions, deletions, substitutions. ``backptr`` (if asked) has
    shape ``[B, H+1, R+1]`` with :data:`OP_DIAG`/:data:`OP_DEL`/:data:`OP_INS` per cell.
    """
    n = len(refs)
    ref_len = np.array([len(r) for r in refs], dtype=np.int64)
    hyp_len = np.array([len(h) for h in hyps], dtype=np.int64)
    ref = _pad(refs, -1)
    hyp = _pad(hyps, -2)
    width = ref.shape[1] + 1
    rows = np.arange(n)
    pos = np.arange(width, dtype=np.int64)[None, :]

    cost = np.broadcast_to(pos, (n, width)).copy()
    ins = np.zeros((n, width), dtype=np.int64)
    dele = np.broadcast_to(pos, (n, width)).copy()
    sub = np.zeros((n, width), dtype=np.int64)

    result = np.zeros((n, 3), dtype=np.int64)
    done = hyp_len == 0
    result[done, 1] = ref_len[done]

    backptr = None
    if keep_backpointers:
        backptr = np.empty((n, hyp.shape[1] + 1, width), dtype=np.int8)
        backptr[:, 0, :] = OP_DEL
        backptr[:, 0, 0] = OP_DIAG

    for j in range(1, hyp.shape[1] + 1):
        mismatch = (ref != hyp[:, j - 1 : j]).astype(np.int64)
        ins_err = cost + 1
        sub_err = cost[:, :-1] + mismatch
        cand = ins_err.copy()
        cand[:, 1:] = np.minimum(ins_err[:, 1:], sub_err)
        new_cost = np.minimum.accumulate(cand - pos, axis=1) + pos
        del_err = new_cost[:, :-1] + 1

        op = np.full((n, width), OP_INS, dtype=np.int8)
        take_sub = (sub_err < ins_err[:, 1:]) & (sub_err < del_err)
        take_del = ~take_sub & (del_err < ins_err[:, 1:])
        op[:, 1:][take_sub] = OP_DIAG
        op[:, 1:][take_del] = OP_DEL

        not_del = op != OP_DEL
        anchor = np.maximum.accumulate(np.where(not_del, pos, 0), axis=1)
        is_sub = op[:, 1:] == OP_DIAG
        base_ins = ins.copy()
        base_del = dele.copy()
        base_sub = sub.copy()
        base_ins[:, 0] += 1
        base_ins[:, 1:] = np.where(is_sub, ins[:, :-1], ins[:, 1:] + 1)
        base_del[:, 1:] = np.where(is_sub, dele[:, :-1], dele[:, 1:])
        base_sub[:, 1:] = np.where(is_sub, sub[:, :-1] + mismatch, sub[:, 1:])
        ins = np.take_along_axis(base_ins, anchor, axis=1)
        sub = np.take_along_axis(base_sub, anchor, axis=1)
        dele = np.take_along_axis(base_del, anchor, axis=1) + (pos - anchor)
        cost = new_cost
        if backptr is not None:
            backptr[:, j, :] = op

        finished = hyp_len == j
        if finished.any():
            idx = rows[finished]
            at = ref_len[finished]
            result[finished, 0] = ins[idx, at]
            result[finished, 1] = dele[idx, at]
            result[finished, 2] = sub[idx, at]
    return result, backptr


def batch_edit_counts(
    refs: Sequence[np.ndarray], hyps: Sequence[np.ndarray], chunk_size: int = 4096, progress: bool = False
) -> np.ndarray:
    """Insertions, deletions, substitutions (``int64[N, 3]``) for N integer-coded pairs.

    Implements Levenshtein (1966) edit distance with Kaldi's tie-breaking (module docstring);
    pairs are sorted by length and processed in chunks so padding stays small.
    """
    if len(refs) != len(hyps):
        raise ValueError("refs and hyps differ in length")
    n = len(refs)
    out = np.zeros((n, 3), dtype=np.int64)
    if n == 0:
        return out
    lengths = np.array([(len(h), len(r)) for r, h in zip(refs, hyps)], dtype=np.int64)
    order = np.lexsort((lengths[:, 1], lengths[:, 0]))
    starts = range(0, n, chunk_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="aligning", unit="chunk", leave=False, disable=None)
    for start in starts:
        idx = order[start : start + chunk_size]
        counts, _ = _batch_counts([refs[i] for i in idx], [hyps[i] for i in idx], False)
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
    ref_ids = encode_tokens(refs, vocab)
    hyp_ids = encode_tokens(hyps, vocab)
    n = len(refs)
    order = np.lexsort((np.array([len(r) for r in refs]), np.array([len(h) for h in hyps]))) if n else []
    out: List[List[Op]] = [[] for _ in range(n)]
    for start in range(0, n, chunk_size):
        idx = order[start : start + chunk_size]
        _, backptr = _batch_counts([ref_ids[i] for i in idx], [hyp_ids[i] for i in idx], True)
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
