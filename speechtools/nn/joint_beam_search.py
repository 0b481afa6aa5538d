"""Joint CTC/attention beam search for one utterance (ESPnet2 style).

The one-pass joint decoding of Watanabe et al. 2017 ("Hybrid CTC/attention architecture for
end-to-end speech recognition", Sec. III-B, Eq. 42-44) as implemented by ESPnet's
``espnet/nets/beam_search.py`` with the ``"full"`` pre-beam. A hypothesis ``h`` (without
``<sos>``) is scored

    score(h) = (1 - λ) · Σ log p_att + λ · log p_ctc(h... | x) + β · Σ log p_lm + γ · |h|

with ``λ = ctc_weight``, ``β = lm_weight``, ``γ = length_bonus``, where ``p_ctc(h... | x)`` is the
CTC prefix probability (:class:`speechtools.nn.ctc.CTCPrefixScorer`) and, for a hypothesis that
ends in ``<eos>``, the full-sequence probability ``p_ctc(h | x)``. ``|h|`` counts every emitted
token including ``<eos>`` (ESPnet's ``LengthBonus`` scores every step).

All live hypotheses advance together: one ``decoder.step`` (and one ``lm.step``) call per output
position over all of them, the pre-beam and the CTC prefix scores are tensor operations over
hypotheses × candidate tokens. Only the bookkeeping of finished hypotheses is Python.
"""

from __future__ import annotations

import math
from typing import Any, List, NamedTuple, Optional, Protocol, Tuple

import torch

from speechtools.nn.ctc import CTCPrefixScorer, CTCPrefixState

NEG_INF = float("-inf")
END_DETECT_LENGTHS = 3  # ESPnet end_detect: M
END_DETECT_MARGIN = -10.0  # ESPnet end_detect: D_end = log(1 * exp(-10))


class StepDecoder(Protocol):
    """:class:`speechtools.nn.beam_search.IncrementalDecoder` without ``init_state``: the state is passed in initialised."""

    def step(self, tokens: torch.Tensor, state: Any) -> torch.Tensor: ...

    def reorder(self, state: Any, index: torch.Tensor) -> None: ...


class LanguageModel(StepDecoder, Protocol):
    """A token LM for shallow fusion: ``init_state(n)`` for ``n`` empty prefixes, then ``step``/``reorder``."""

    def init_state(self, n: int) -> Any: ...


class Hypothesis(NamedTuple):
    """A finished hypothesis: token ids without ``<sos>``/``<eos>`` and its joint score."""

    tokens: List[int]
    score: float


def ended_search(finished: List[Tuple[int, float]], step: int, best: float) -> bool:
    """ESPnet's ``end_detect`` (``espnet/nets/e2e_asr_common.py``): stop when, for each of the last
    ``M = 3`` hypothesis lengths ``step, step - 1, step - 2``, there are finished hypotheses and the
    best of them is worse than the best finished hypothesis by more than ``|D_end| = 10``.

    Args:
        finished: ``(length, score)`` of the finished hypotheses (length without ``<eos>``).
        step: the current output position (hypotheses ending now have length ``step``).
        best: the best finished score.
    """
    for length in range(step, step - END_DETECT_LENGTHS, -1):
        same = [score for n, score in finished if n == length]
        if not same or max(same) - best >= END_DETECT_MARGIN:
            return False
    return True


def _check_arguments(decoder: Optional[StepDecoder], ctc_log_probs: Optional[torch.Tensor], sos: int, eos: int,
                     blank: int, beam_size: int, ctc_weight: float, lm: Optional[LanguageModel], lm_weight: float,
                     length_bonus: float, max_len: Optional[int], pre_beam: Optional[int], nbest: int) -> None:
    if not 0.0 <= ctc_weight <= 1.0:
        raise ValueError(f"ctc_weight must be in [0, 1], got {ctc_weight}")
    if decoder is None and ctc_weight != 1.0:
        raise ValueError("decoder=None (pure CTC prefix beam search) needs ctc_weight == 1.0")
    if ctc_weight > 0.0 and ctc_log_probs is None:
        raise ValueError(f"ctc_weight={ctc_weight} > 0 needs ctc_log_probs")
    if ctc_log_probs is not None and (ctc_log_probs.dim() != 2 or ctc_log_probs.size(0) < 1):
        raise ValueError(f"ctc_log_probs must be (T, V) with T >= 1, got shape {tuple(ctc_log_probs.shape)}")
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if nbest < 1:
        raise ValueError(f"nbest must be >= 1, got {nbest}")
    if pre_beam is not None and pre_beam < 1:
        raise ValueError(f"pre_beam must be >= 1, got {pre_beam}")
    if max_len is None and ctc_log_probs is None:
        raise ValueError("max_len is needed when there are no ctc_log_probs to take it from")
    if max_len is not None and max_len < 0:
        raise ValueError(f"max_len must be >= 0, got {max_len}")
    if lm_weight != 0.0 and lm is None:
        raise ValueError(f"lm_weight={lm_weight} needs an lm")
    if not (math.isfinite(lm_weight) and math.isfinite(length_bonus)):
        raise ValueError("lm_weight and length_bonus must be finite")
    if eos == blank:
        raise ValueError(f"eos and blank must differ (both {eos})")
    if ctc_log_probs is not None:
        vocab = ctc_log_probs.size(1)
        for name, value in (("sos", sos), ("eos", eos), ("blank", blank)):
            if not 0 <= value < vocab:
                raise ValueError(f"{name}={value} is outside the vocabulary of size {vocab}")


def joint_beam_search(
    decoder: Optional[StepDecoder], memory_state: Any, ctc_log_probs: Optional[torch.Tensor], sos: int, eos: int,
    blank: int = 0, beam_size: int = 10, ctc_weight: float = 0.3, lm: Optional[LanguageModel] = None,
    lm_weight: float = 0.0, length_bonus: float = 0.0, max_len: Optional[int] = None, pre_beam: Optional[int] = None,
    nbest: int = 1, end_detect: bool = True, device: Optional[torch.device] = None,
) -> List[Hypothesis]:
    """Joint CTC/attention beam search (Watanabe et al. 2017, Eq. 44; ESPnet ``BeamSearch``) for one utterance.

    Each output position: one ``decoder.step`` (and ``lm.step``) over the ``N`` live hypotheses;
    pre-beam: the top ``pre_beam`` candidates per hypothesis by ``(1 - λ)·log p_att + β·log p_lm``
    (ESPnet's ``"full"`` pre-beam), or, without an attention decoder (``ctc_weight == 1``), the
    tokens with the highest frame-maximum CTC posterior plus ``<eos>``; the CTC prefix score
    (:class:`~speechtools.nn.ctc.CTCPrefixScorer`) of those ``N × K`` candidates; the joint score
    of the module docstring; the best ``beam_size`` of all ``N × K`` extensions. Extensions with
    ``<eos>`` move to the finished list; impossible ones (score ``-inf``) are dropped. The blank is
    never a candidate (its id gets ``-inf`` in a shared vocabulary).

    Args:
        decoder: ``step(tokens (N,), state) -> log-probs (N, V)``, ``reorder(state, index)``; not
            run when ``ctc_weight == 1`` (may be ``None`` then).
        memory_state: ``decoder.init_state(enc, enc_lengths)`` for a batch of one.
        ctc_log_probs: ``(T, V)`` CTC log-posteriors (needed when ``ctc_weight > 0``).
        sos, eos, blank: special ids (``sos`` may equal ``eos``, as in ESPnet).
        beam_size: hypotheses kept per position.
        ctc_weight: ``λ``.
        lm, lm_weight: shallow-fusion LM (``init_state(n)``, ``step``, ``reorder``) and ``β``;
            the LM is run only when ``β != 0``.
        length_bonus: ``γ``, added per emitted token (including ``<eos>``).
        max_len: most tokens before ``<eos>`` (default ``T``); at position ``max_len`` only
            ``<eos>`` is a candidate.
        pre_beam: candidates per hypothesis (default ``int(1.5 · beam_size)``).
        nbest: hypotheses returned.
        end_detect: stop early by ESPnet's end detection (:func:`ended_search`).
        device: device of the token tensors given to ``decoder``/``lm`` (default: that of
            ``ctc_log_probs``, else the CPU).

    Returns:
        at most ``nbest`` hypotheses, best first (fewer if fewer finished with a finite score).
    """
    _check_arguments(decoder, ctc_log_probs, sos, eos, blank, beam_size, ctc_weight, lm, lm_weight, length_bonus,
                     max_len, pre_beam, nbest)
    use_att = ctc_weight < 1.0
    use_ctc = ctc_weight > 0.0
    use_lm = lm is not None and lm_weight != 0.0
    if max_len is None:
        assert ctc_log_probs is not None
        max_len = ctc_log_probs.size(0)
    if pre_beam is None:
        pre_beam = max(1, int(1.5 * beam_size))
    scorer = CTCPrefixScorer(ctc_log_probs, blank, eos) if use_ctc and ctc_log_probs is not None else None

    if device is None:
        device = ctc_log_probs.device if ctc_log_probs is not None else torch.device("cpu")
    last = torch.full((1,), sos, dtype=torch.long, device=device)
    att_sum: Optional[torch.Tensor] = None
    lm_sum: Optional[torch.Tensor] = None
    ctc_state: Optional[CTCPrefixState] = scorer.initial_state() if scorer is not None else None
    lm_state = lm.init_state(1) if use_lm and lm is not None else None
    prefixes = torch.zeros(1, 0, dtype=torch.long, device=device)
    finished: List[Tuple[int, float]] = []
    hyps: List[Hypothesis] = []

    for step in range(max_len + 1):
        n = last.size(0)
        att = decoder.step(last, memory_state) if use_att and decoder is not None else None
        lmp = lm.step(last, lm_state) if use_lm and lm is not None else None
        vocab = _vocab_size(att, lmp, ctc_log_probs)
        ref = next(t for t in (att, lmp, ctc_log_probs) if t is not None)
        if att_sum is None:
            att_sum = ref.new_zeros(n, dtype=torch.float32)
            lm_sum = ref.new_zeros(n, dtype=torch.float32)
        if not (0 <= sos < vocab and 0 <= eos < vocab and 0 <= blank < vocab):
            raise ValueError(f"sos={sos}, eos={eos}, blank={blank} must be ids of the vocabulary of size {vocab}")
        tokens = torch.arange(vocab, device=ref.device)

        # Pre-beam ("full" scorers: attention and LM), candidates (N, K).
        if step == max_len:
            cand = torch.full((n, 1), eos, dtype=torch.long, device=ref.device)
        elif att is not None:
            full = (1.0 - ctc_weight) * att.float()
            if lmp is not None:
                full = full + lm_weight * lmp.float()
            full = full.masked_fill(tokens == blank, NEG_INF)
            cand = full.topk(min(pre_beam, vocab - 1), dim=1).indices
        else:
            assert ctc_log_probs is not None
            rank = ctc_log_probs.float().max(dim=0).values.masked_fill((tokens == blank) | (tokens == eos), NEG_INF)
            words = rank.topk(min(pre_beam, vocab - 2)).indices if vocab > 2 else tokens[:0]
            cand = torch.cat([words, tokens.new_full((1,), eos)]).expand(n, -1)

        # Joint scores of the N × K extensions.
        new_att = att_sum[:, None] + att.float().gather(1, cand) if att is not None else None
        new_lm = lm_sum[:, None] + lmp.float().gather(1, cand) if lmp is not None else None  # type: ignore[index]
        score = torch.full(cand.shape, length_bonus * (step + 1), dtype=torch.float32, device=ref.device)
        if new_att is not None:
            score = score + (1.0 - ctc_weight) * new_att
        if new_lm is not None:
            score = score + lm_weight * new_lm
        new_ctc: Optional[CTCPrefixState] = None
        if scorer is not None and ctc_state is not None:
            psi, new_ctc = scorer.score(ctc_state, ctc_state.last, cand)
            score = score + ctc_weight * psi.float()
        score = score.masked_fill(cand == blank, NEG_INF)

        # Best beam_size extensions of all N × K; drop impossible ones.
        top, flat = score.view(-1).topk(min(beam_size, score.numel()))
        possible = torch.isfinite(top)
        top, flat = top[possible], flat[possible]
        k = cand.size(1)
        hyp_index, cand_index = torch.div(flat, k, rounding_mode="floor"), flat % k
        chosen = cand[hyp_index, cand_index]
        ended = chosen == eos
        for h, s in zip(hyp_index[ended].tolist(), top[ended].tolist()):
            hyps.append(Hypothesis(prefixes[h].tolist(), s))
            finished.append((step, s))
        live = ~ended
        if not bool(live.any()):
            break
        index, cand_live, chosen_live = hyp_index[live], cand_index[live], chosen[live]
        if att is not None and decoder is not None and new_att is not None:
            decoder.reorder(memory_state, index)
            att_sum = new_att[index, cand_live]
        if lmp is not None and lm is not None and new_lm is not None:
            lm.reorder(lm_state, index)
            lm_sum = new_lm[index, cand_live]
        if new_ctc is not None:
            ctc_state = CTCPrefixScorer.select(new_ctc, index, cand_live)
        prefixes = torch.cat([prefixes[index], chosen_live[:, None]], dim=1)
        last = chosen_live
        if end_detect and finished and ended_search(finished, step, max(s for _, s in finished)):
            break

    hyps.sort(key=lambda h: h.score, reverse=True)
    return hyps[:nbest]


def _vocab_size(att: Optional[torch.Tensor], lmp: Optional[torch.Tensor], ctc: Optional[torch.Tensor]) -> int:
    """The shared vocabulary size; a ``ValueError`` when the decoder, LM and CTC disagree."""
    sizes = {name: t.size(-1) for name, t in (("decoder", att), ("lm", lmp), ("ctc", ctc)) if t is not None}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"vocabulary sizes differ: {sizes}")
    return next(iter(sizes.values()))
