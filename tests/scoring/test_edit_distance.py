"""Randomised checks: batched counts == Levenshtein distance (editdistance) == a plain Kaldi port."""

from __future__ import annotations

import random

import editdistance
import numpy as np

from speechtools.scoring.edit_distance import batch_align, batch_edit_counts, pack_tokens, kaldi_edit_counts_python


def _random_pairs(seed: int, n: int, vocab: int, max_len: int):
    rng = random.Random(seed)
    refs = [[rng.randrange(vocab) for _ in range(rng.randrange(max_len + 1))] for _ in range(n)]
    hyps = [[rng.randrange(vocab) for _ in range(rng.randrange(max_len + 1))] for _ in range(n)]
    return refs, hyps


def test_error_total_equals_editdistance_and_kaldi_split():
    refs, hyps = _random_pairs(0, 1500, 4, 14)
    vocab = {}
    counts = batch_edit_counts(pack_tokens(refs, vocab), pack_tokens(hyps, vocab), chunk_size=97)
    for (ins, dele, sub), ref, hyp in zip(counts.tolist(), refs, hyps):
        assert ins + dele + sub == editdistance.eval(ref, hyp)
        assert ins - dele == len(hyp) - len(ref)
        assert kaldi_edit_counts_python(ref, hyp) == (ins + dele + sub, ins, dele, sub)


def test_long_and_mixed_lengths():
    rng = np.random.default_rng(3)
    refs = [rng.integers(0, 30, rng.integers(0, 300)).tolist() for _ in range(20)]
    hyps = [(r[: len(r) // 2] + rng.integers(0, 30, rng.integers(0, 50)).tolist()) for r in refs]
    vocab = {}
    counts = batch_edit_counts(pack_tokens(refs, vocab), pack_tokens(hyps, vocab))
    assert counts.sum(axis=1).tolist() == [editdistance.eval(r, h) for r, h in zip(refs, hyps)]


def test_alignment_ops_reproduce_counts_and_sequences():
    refs, hyps = _random_pairs(1, 400, 3, 10)
    vocab = {}
    counts = batch_edit_counts(pack_tokens(refs, vocab), pack_tokens(hyps, vocab))
    for ops, (ins, dele, sub), ref, hyp in zip(batch_align(refs, hyps, chunk_size=33), counts.tolist(), refs, hyps):
        codes = [o for o, _, _ in ops]
        assert (codes.count("I"), codes.count("D"), codes.count("S")) == (ins, dele, sub)
        assert [r for o, r, _ in ops if o != "I"] == ref
        assert [h for o, _, h in ops if o != "D"] == hyp
        assert all((r == h) == (o == "C") for o, r, h in ops if o in "CS")


def test_chunks_respect_cell_bound_and_cover_all_pairs():
    from speechtools.scoring.edit_distance import _chunks, pack_tokens

    rng = np.random.default_rng(4)
    refs = [rng.integers(0, 5, rng.integers(0, 60)).tolist() for _ in range(300)]
    hyps = [rng.integers(0, 5, rng.integers(0, 60)).tolist() for _ in range(300)]
    vocab = {}
    r, h = pack_tokens(refs, vocab), pack_tokens(hyps, vocab)
    chunks = _chunks(r, h, chunk_size=64, max_cells=20000, full_table=True)
    assert sorted(np.concatenate(chunks).tolist()) == list(range(300))
    for idx in chunks:
        cells = len(idx) * (r.lengths[idx].max() + 1) * (h.lengths[idx].max() + 1)
        assert len(idx) <= 64 and (cells <= 20000 or len(idx) == 1)
