"""Joint CTC/attention beam search (speechtools.nn.joint_beam_search) against exhaustive search.

The toy decoder's log-probabilities depend on the whole prefix (a fixed random table indexed by
a rolling hash of it) and on the encoder memory; CTC posteriors are random. With a beam that
never prunes, the search must return exactly the top-n of all token sequences under the joint
score computed independently (attention: sum of step log-probs including eos; CTC:
``ctc_sequence_log_prob``; LM likewise; length bonus per token including eos).
"""

from __future__ import annotations

import itertools
from typing import Dict, List, Optional, Tuple

import pytest
import torch

from speechtools.nn.ctc import ctc_sequence_log_prob
from speechtools.nn.joint_beam_search import Hypothesis, joint_beam_search

BLANK, EOS, SOS = 0, 4, 4
VOCAB = 5  # blank, three tokens, eos (= sos, as in ESPnet)
TOKENS = (1, 2, 3)
FRAMES = 5


class ToyDecoder:
    """Deterministic incremental decoder: log-softmax(table[hash(prefix)] + memory @ proj) (+ bias)."""

    def __init__(self, seed: int, buckets: int = 997, dim: int = 4, bias: Optional[torch.Tensor] = None) -> None:
        g = torch.Generator().manual_seed(seed)
        self.table = 2 * torch.randn(buckets, VOCAB, generator=g)
        self.proj = torch.randn(dim, VOCAB, generator=g)
        self.bias = torch.zeros(VOCAB) if bias is None else bias
        self.buckets, self.dim = buckets, dim
        self.calls = 0

    def init_state(self, enc: torch.Tensor, enc_lengths: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"hash": torch.zeros(enc.size(0), dtype=torch.long), "memory": enc.mean(1)}

    def step(self, tokens: torch.Tensor, state: Dict[str, torch.Tensor]) -> torch.Tensor:
        self.calls += 1
        state["hash"] = (state["hash"] * 31 + tokens + 1) % self.buckets
        return (self.table[state["hash"]] + state["memory"] @ self.proj + self.bias).log_softmax(-1)

    def reorder(self, state: Dict[str, torch.Tensor], index: torch.Tensor) -> None:
        for key in state:
            state[key] = state[key].index_select(0, index)


class ToyLM(ToyDecoder):
    def init_state(self, n: int) -> Dict[str, torch.Tensor]:  # type: ignore[override]
        return {"hash": torch.zeros(n, dtype=torch.long), "memory": torch.zeros(n, self.dim)}


def sequence_log_prob(model: ToyDecoder, state: Dict[str, torch.Tensor], seq: Tuple[int, ...]) -> float:
    """Sum of the step log-probs of ``seq + (eos,)`` after ``sos``, one sequence at a time (no reorder)."""
    total, previous = 0.0, SOS
    for token in seq + (EOS,):
        total += float(model.step(torch.tensor([previous]), state)[0, token])
        previous = token
    return total


@pytest.fixture(scope="module")
def problem() -> Dict[str, object]:
    torch.manual_seed(0)
    enc = torch.randn(1, 7, 4)
    ctc = (1.5 * torch.randn(FRAMES, VOCAB)).log_softmax(-1)
    decoder, lm = ToyDecoder(seed=1), ToyLM(seed=2)
    rows = []
    for length in range(FRAMES + 1):
        for seq in itertools.product(TOKENS, repeat=length):
            att = sequence_log_prob(decoder, decoder.init_state(enc, torch.tensor([7])), seq)
            lmp = sequence_log_prob(lm, lm.init_state(1), seq)
            rows.append((seq, att, ctc_sequence_log_prob(ctc, list(seq), blank=BLANK), lmp))
    return {"enc": enc, "ctc": ctc, "decoder": decoder, "lm": lm, "rows": rows}


def exhaustive(rows: List[Tuple[Tuple[int, ...], float, float, float]], ctc_weight: float, lm_weight: float,
               length_bonus: float, n: int) -> List[Hypothesis]:
    scored = []
    for seq, att, ctc, lmp in rows:
        score = ctc_weight * ctc + lm_weight * lmp + length_bonus * (len(seq) + 1)
        if ctc_weight < 1.0:
            score += (1.0 - ctc_weight) * att
        if score > float("-inf"):
            scored.append(Hypothesis(list(seq), score))
    scored.sort(key=lambda h: h.score, reverse=True)
    return scored[:n]


def search(problem: Dict[str, object], with_decoder: bool = True, **kwargs: object) -> List[Hypothesis]:
    decoder = problem["decoder"]
    state = decoder.init_state(problem["enc"], torch.tensor([7])) if with_decoder else None  # type: ignore[attr-defined]
    return joint_beam_search(decoder if with_decoder else None, state, problem["ctc"], SOS, EOS,  # type: ignore[arg-type]
                             blank=BLANK, **kwargs)  # type: ignore[arg-type]


def assert_same(found: List[Hypothesis], expected: List[Hypothesis]) -> None:
    assert [h.tokens for h in found] == [h.tokens for h in expected]
    assert [h.score for h in found] == pytest.approx([h.score for h in expected], abs=1e-4)


@pytest.mark.parametrize("ctc_weight, lm_weight, length_bonus, with_decoder", [
    (0.0, 0.0, 0.0, True),
    (0.3, 0.0, 0.0, True),
    (1.0, 0.0, 0.0, False),
    (1.0, 0.0, 0.0, True),  # the decoder is not run when ctc_weight == 1
    (0.3, 0.5, 0.0, True),
    (0.3, 0.5, 0.7, True),
    (1.0, 0.5, -0.4, False),
])
def test_unpruned_beam_equals_exhaustive_search(problem: Dict[str, object], ctc_weight: float, lm_weight: float,
                                                length_bonus: float, with_decoder: bool) -> None:
    # 3^4 live prefixes × 4 candidates = 324 extensions at most per position: a beam of 400 never prunes.
    found = search(problem, with_decoder, beam_size=400, pre_beam=VOCAB, ctc_weight=ctc_weight,
                   lm=problem["lm"] if lm_weight else None, lm_weight=lm_weight, length_bonus=length_bonus,
                   nbest=6, end_detect=False)
    expected = exhaustive(problem["rows"], ctc_weight, lm_weight, length_bonus, 6)  # type: ignore[arg-type]
    assert len(expected) == 6
    assert_same(found, expected)


def test_pruned_beam_returns_exact_scores(problem: Dict[str, object]) -> None:
    decoder = problem["decoder"]
    decoder.calls = 0  # type: ignore[attr-defined]
    found = search(problem, beam_size=3, pre_beam=2, ctc_weight=0.3, lm=problem["lm"], lm_weight=0.5, nbest=3,
                   end_detect=False)
    assert decoder.calls <= FRAMES + 1  # type: ignore[attr-defined]  # one step call per output position
    exact = {tuple(h.tokens): h.score for h in exhaustive(problem["rows"], 0.3, 0.5, 0.0, 10 ** 6)}  # type: ignore[arg-type]
    assert 1 <= len(found) <= 3
    for h in found:
        assert h.score == pytest.approx(exact[tuple(h.tokens)], abs=1e-4)
    assert found[0].score <= max(exact.values()) + 1e-4
    assert [h.score for h in found] == sorted((h.score for h in found), reverse=True)


def test_beam_one_without_ctc_is_greedy_attention_decoding(problem: Dict[str, object]) -> None:
    decoder, max_len = problem["decoder"], 8
    state = decoder.init_state(problem["enc"], torch.tensor([7]))  # type: ignore[attr-defined]
    tokens: List[int] = []
    score, previous = 0.0, SOS
    for i in range(max_len + 1):
        logp = decoder.step(torch.tensor([previous]), state)[0]  # type: ignore[attr-defined]
        logp[BLANK] = float("-inf")
        nxt = EOS if i == max_len else int(logp.argmax())
        score += float(logp[nxt])
        if nxt == EOS:
            break
        tokens.append(nxt)
        previous = nxt
    state = decoder.init_state(problem["enc"], torch.tensor([7]))  # type: ignore[attr-defined]
    found = joint_beam_search(decoder, state, None, SOS, EOS, beam_size=1, ctc_weight=0.0, max_len=max_len,  # type: ignore[arg-type]
                              end_detect=False)
    assert found == [Hypothesis(tokens, pytest.approx(score, abs=1e-5))]
    assert len(tokens) >= 2  # the example is not trivial


def test_blank_is_never_emitted_even_when_the_decoder_prefers_it(problem: Dict[str, object]) -> None:
    bias = torch.tensor([20.0, 0.0, 0.0, 0.0, 0.0])
    decoder = ToyDecoder(seed=1, bias=bias)
    state = decoder.init_state(problem["enc"], torch.tensor([7]))
    found = joint_beam_search(decoder, state, problem["ctc"], SOS, EOS, beam_size=4, ctc_weight=0.3, nbest=4,  # type: ignore[arg-type]
                              end_detect=False)
    assert found and all(BLANK not in h.tokens for h in found)


def test_end_detection_stops_once_longer_hypotheses_are_hopeless(problem: Dict[str, object]) -> None:
    bias = torch.tensor([0.0, 0.0, 0.0, 0.0, 30.0])  # eos at once is far better than anything longer
    calls = {}
    for detect in (False, True):
        decoder = ToyDecoder(seed=1, bias=bias)
        state = decoder.init_state(problem["enc"], torch.tensor([7]))
        found = joint_beam_search(decoder, state, None, SOS, EOS, beam_size=3, ctc_weight=0.0, max_len=20,
                                  end_detect=detect)
        assert found[0].tokens == []
        calls[detect] = decoder.calls
    assert calls[False] == 21
    assert calls[True] == 4  # finished lengths 1, 2, 3 all worse than the best by more than 10


def test_invalid_arguments_raise_value_error(problem: Dict[str, object]) -> None:
    decoder, ctc = problem["decoder"], problem["ctc"]
    state = decoder.init_state(problem["enc"], torch.tensor([7]))  # type: ignore[attr-defined]
    good = dict(decoder=decoder, memory_state=state, ctc_log_probs=ctc, sos=SOS, eos=EOS)
    bad = [
        dict(beam_size=0), dict(nbest=0), dict(pre_beam=0), dict(ctc_weight=-0.1), dict(ctc_weight=1.5),
        dict(decoder=None, ctc_weight=0.5), dict(ctc_log_probs=None, ctc_weight=0.3),
        dict(ctc_log_probs=None, ctc_weight=0.0),  # no max_len
        dict(ctc_log_probs=ctc[None]), dict(max_len=-1), dict(lm_weight=0.5), dict(eos=BLANK),
        dict(eos=VOCAB), dict(length_bonus=float("nan")),
        dict(ctc_log_probs=torch.randn(FRAMES, VOCAB + 1).log_softmax(-1)),  # vocabulary differs from the decoder's
    ]
    for change in bad:
        with pytest.raises(ValueError):
            joint_beam_search(**{**good, **change})  # type: ignore[arg-type]
