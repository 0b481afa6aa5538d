"""CTC decoding (speechtools.nn.ctc): best path, sequence probability and prefix scores against brute force."""

from __future__ import annotations

import itertools
import math
from typing import List, Sequence, Tuple

import pytest
import torch

from speechtools.nn.ctc import CTCPrefixScorer, ctc_greedy_decode, ctc_sequence_log_prob

BLANK = 0


def one_hot_posteriors(frames: Sequence[int], vocab: int) -> torch.Tensor:
    x = torch.full((len(frames), vocab), -5.0)
    x[torch.arange(len(frames)), torch.tensor(frames)] = 0.0
    return x.log_softmax(-1)


def collapse(path: Sequence[int]) -> Tuple[int, ...]:
    out: List[int] = []
    previous = None
    for label in path:
        if label != previous and label != BLANK:
            out.append(label)
        previous = label
    return tuple(out)


def brute_force(log_probs: torch.Tensor) -> List[Tuple[Tuple[int, ...], float]]:
    """(collapsed output, probability) of every one of the V^T paths."""
    probs = log_probs.double().exp()
    frames, vocab = probs.shape
    paths = []
    for path in itertools.product(range(vocab), repeat=frames):
        p = 1.0
        for t, label in enumerate(path):
            p *= float(probs[t, label])
        paths.append((collapse(path), p))
    return paths


def test_greedy_collapses_repeats_and_drops_blanks() -> None:
    a, b = 1, 2
    x = one_hot_posteriors([a, a, BLANK, a, b, b], vocab=3)[None]
    assert ctc_greedy_decode(x, torch.tensor([6])) == [[a, a, b]]
    assert ctc_greedy_decode(x, torch.tensor([6]), blank=1) == [[0, 2]]  # another blank id


def test_greedy_ignores_frames_beyond_the_length() -> None:
    a, b = 1, 2
    x = torch.stack([
        one_hot_posteriors([a, BLANK, b, b, a, a], vocab=3),
        one_hot_posteriors([b, b, BLANK, a, a, b], vocab=3),
        one_hot_posteriors([a, a, a, BLANK, b, b], vocab=3),
    ])
    assert ctc_greedy_decode(x, torch.tensor([4, 6, 0])) == [[a, b], [b, a, b], []]
    assert ctc_greedy_decode(x, torch.tensor([6, 3, 3])) == [[a, b, a], [b], [a]]


def test_sequence_log_prob_is_the_sum_over_all_alignments() -> None:
    torch.manual_seed(0)
    x = (2 * torch.randn(4, 3, dtype=torch.float64)).log_softmax(-1)
    totals: dict = {}
    for output, p in brute_force(x):
        totals[output] = totals.get(output, 0.0) + p
    assert math.isclose(sum(totals.values()), 1.0, rel_tol=1e-9)
    for output, p in totals.items():
        assert ctc_sequence_log_prob(x, list(output)) == pytest.approx(math.log(p), abs=1e-9)
    assert ctc_sequence_log_prob(x, [1, 1, 1]) == float("-inf")  # needs 5 frames
    assert ctc_sequence_log_prob(x, []) == pytest.approx(float(x[:, 0].double().sum()), abs=1e-9)


def test_prefix_scores_equal_brute_force_for_every_prefix_up_to_length_two() -> None:
    torch.manual_seed(1)
    frames, vocab, eos = 5, 4, 3  # blank, two tokens, eos (eos is a CTC label like any other here)
    x = (2 * torch.randn(frames, vocab, dtype=torch.float64)).log_softmax(-1)  # rows sum to 1 in float64
    paths = brute_force(x)
    scorer = CTCPrefixScorer(x, blank=BLANK, eos=eos)
    candidates = torch.tensor([1, 2, eos])

    def prefix_prob(prefix: Tuple[int, ...]) -> float:
        p = sum(prob for out, prob in paths if out[: len(prefix)] == prefix)
        return math.log(p) if p > 0 else float("-inf")

    states, prefixes = scorer.initial_state(), [()]
    checked = 0
    for length in range(3):
        n = len(prefixes)
        scores, new = scorer.score(states, states.last, candidates.expand(n, -1))
        for i, prefix in enumerate(prefixes):
            for j, c in enumerate(candidates.tolist()):
                if c == eos:
                    expected = ctc_sequence_log_prob(x, list(prefix))
                else:
                    expected = prefix_prob(prefix + (c,))
                assert float(scores[i, j]) == pytest.approx(expected, abs=1e-9), (prefix, c)
                checked += 1
        # Extend every prefix by every non-eos token through select.
        hyp_index = torch.arange(n).repeat_interleave(2)
        cand_index = torch.tensor([0, 1]).repeat(n)
        states = scorer.select(new, hyp_index, cand_index)
        prefixes = [prefixes[h] + (int(candidates[c]),) for h, c in zip(hyp_index.tolist(), cand_index.tolist())]
        assert states.psi.tolist() == pytest.approx([prefix_prob(p) for p in prefixes], abs=1e-9)
    assert checked == 3 * (1 + 2 + 4)


def test_prefix_scores_of_a_batch_with_mixed_lengths_and_infeasible_prefixes() -> None:
    torch.manual_seed(2)
    x = (2 * torch.randn(3, 4)).log_softmax(-1)
    scorer = CTCPrefixScorer(x, blank=BLANK, eos=3)
    s0 = scorer.initial_state()
    _, new = scorer.score(s0, s0.last, torch.tensor([[1, 2]]))
    s1 = scorer.select(new, torch.tensor([0, 0]), torch.tensor([0, 1]))  # [1], [2]
    _, new = scorer.score(s1, s1.last, torch.tensor([[1, 2], [2, 1]]))
    s2 = scorer.select(new, torch.tensor([0, 1]), torch.tensor([0, 0]))  # [1, 1], [2, 2]
    mixed = type(s0)(*(torch.cat([a, b]) for a, b in zip(s0, s2)))  # [], [1, 1], [2, 2]
    scores, _ = scorer.score(mixed, mixed.last, torch.tensor([[1, 0, 3], [1, 2, 3], [2, 1, 3]]))
    assert float(scores[0, 0]) == pytest.approx(float(s1.psi[0]), abs=1e-5)  # same as from the empty prefix alone
    assert float(scores[0, 1]) == float("-inf")  # blank is never an extension
    assert float(scores[0, 2]) == pytest.approx(ctc_sequence_log_prob(x, []), abs=1e-5)
    assert float(scores[1, 0]) == float("-inf")  # [1, 1, 1] needs 5 frames
    assert float(scores[1, 2]) == pytest.approx(ctc_sequence_log_prob(x, [1, 1]), abs=1e-5)
    assert float(scores[2, 2]) == pytest.approx(ctc_sequence_log_prob(x, [2, 2]), abs=1e-5)
    assert not torch.isnan(scores).any()


def test_scorer_rejects_bad_arguments() -> None:
    x = torch.randn(3, 4).log_softmax(-1)
    with pytest.raises(ValueError):
        CTCPrefixScorer(x[0])
    with pytest.raises(ValueError):
        CTCPrefixScorer(x, blank=4)
    with pytest.raises(ValueError):
        CTCPrefixScorer(x, blank=0, eos=0)
    with pytest.raises(ValueError):
        ctc_greedy_decode(x, torch.tensor([3]))
