"""CTC decoding: best-path decoding, sequence probability and the CTC prefix score.

* :func:`ctc_greedy_decode`: best path decoding (Graves et al. 2006): the most probable label per
  frame, repeats collapsed, blanks dropped.
* :func:`ctc_sequence_log_prob`: ``log P_ctc(y | x)``, the sum over all alignments of ``y``
  (forward algorithm, through ``F.ctc_loss``).
* :class:`CTCPrefixScorer`: the CTC prefix score ``log P_ctc(h... | x)`` of Graves (2012, Sec. 7.3,
  prefix search) as used for joint CTC/attention decoding (Watanabe et al. 2017, "Hybrid
  CTC/attention architecture for end-to-end speech recognition", Sec. III-B, Algorithm 2), in the
  form of ESPnet's ``CTCPrefixScoreTH`` (``espnet/nets/ctc_prefix_score.py``): all hypotheses ×
  candidate tokens are scored at once. The recursion over time frames is inherently sequential;
  it is one loop over frames whose body is a tensor operation over all hypotheses × candidates.

All probabilities are natural-log; impossible events are ``-inf`` (``torch.logaddexp`` and
``torch.logsumexp`` return ``-inf`` for all-``-inf`` inputs, never NaN).
"""

from __future__ import annotations

from typing import List, NamedTuple, Sequence, Tuple

import torch
import torch.nn.functional as F

NEG_INF = float("-inf")


def ctc_greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0) -> List[List[int]]:
    """Best path decoding (Graves et al. 2006): argmax per frame, collapse repeats, drop blanks.

    Args:
        log_probs: ``(B, T, V)`` frame posteriors (log or linear: only the argmax is used).
        lengths: ``(B,)`` valid frames per utterance; frames at or beyond the length are ignored.
        blank: blank label id.

    Returns:
        one list of label ids per utterance. Vectorised over the batch; only the final
        extraction of each utterance's list is a Python loop.
    """
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be (B, T, V), got shape {tuple(log_probs.shape)}")
    if lengths.shape != (log_probs.size(0),):
        raise ValueError(f"lengths must be (B,) = ({log_probs.size(0)},), got {tuple(lengths.shape)}")
    best = log_probs.argmax(dim=-1)  # (B, T)
    previous = torch.cat([torch.full_like(best[:, :1], -1), best[:, :-1]], dim=1)
    frames = torch.arange(best.size(1), device=best.device)
    keep = (best != blank) & (best != previous) & (frames[None, :] < lengths.to(best.device)[:, None])
    return [row[mask].tolist() for row, mask in zip(best, keep)]


def ctc_sequence_log_prob(log_probs: torch.Tensor, target: Sequence[int], blank: int = 0) -> float:
    """``log P_ctc(target | x)``: the log of the sum over all CTC alignments of ``target``.

    The CTC forward algorithm (Graves et al. 2006, Eq. 14), computed by ``F.ctc_loss`` (reduction
    ``'sum'``, negated) in float64. ``-inf`` when no alignment fits in ``T`` frames.

    Args:
        log_probs: ``(T, V)`` log-posteriors of one utterance.
        target: label ids (no blank).
    """
    if log_probs.dim() != 2:
        raise ValueError(f"log_probs must be (T, V), got shape {tuple(log_probs.shape)}")
    lp = log_probs.detach().double().cpu()
    tgt = torch.tensor(list(target), dtype=torch.long)
    loss = F.ctc_loss(
        lp[:, None, :], tgt, torch.tensor([lp.size(0)]), torch.tensor([tgt.numel()]),
        blank=blank, reduction="sum", zero_infinity=False,
    )
    return -float(loss)


class CTCPrefixState(NamedTuple):
    """CTC prefix-search state of a set of hypotheses (leading dims ``S``: ``(N,)`` or ``(N, K)``).

    Attributes:
        r: ``S + (T, 2)``: ``r[..., t, 0] = log r^n_t(g)`` (prefix ``g`` output by frame ``t``, its
            path ending in a non-blank) and ``r[..., t, 1] = log r^b_t(g)`` (ending in blank).
        psi: ``S``: the prefix log-probability ``log P_ctc(g... | x)``.
        last: ``S``: the last token of ``g`` (``-1`` for the empty prefix).
        length: ``S``: the number of tokens in ``g``.
    """

    r: torch.Tensor
    psi: torch.Tensor
    last: torch.Tensor
    length: torch.Tensor


class CTCPrefixScorer:
    """CTC prefix scores of one utterance (Graves 2012; Watanabe et al. 2017, Algorithm 2; ESPnet's CTCPrefixScoreTH).

    For a prefix ``g`` and a candidate ``c`` (``h = g + c``), with ``x_t(k)`` the log-posterior of
    label ``k`` at frame ``t`` (0-based):

    * ``r^n_0(h) = x_0(c)`` if ``g`` is empty else ``-inf``; ``r^b_0(h) = -inf``;
    * ``phi_t = r^b_t(g)`` if ``c`` equals the last token of ``g`` (a repeat needs a blank in
      between), else ``logaddexp(r^n_t(g), r^b_t(g))``;
    * ``r^n_t(h) = logaddexp(r^n_{t-1}(h), phi_{t-1}) + x_t(c)``,
      ``r^b_t(h) = logaddexp(r^n_{t-1}(h), r^b_{t-1}(h)) + x_t(blank)``;
    * prefix score ``psi(h) = logsumexp(r^n_0(h), phi_{t-1} + x_t(c) for t = 1..T-1)``;
    * for ``c = eos``: ``psi(h) = logaddexp(r^n_{T-1}(g), r^b_{T-1}(g)) = log P_ctc(g | x)``.

    The loop over frames starts at ``max(1, min prefix length)`` (earlier frames cannot hold the
    prefix, as in ESPnet); each iteration is one tensor operation over all ``N × K`` extensions.
    The object holds only the utterance's posteriors; hypothesis states are passed in and out.
    """

    def __init__(self, log_probs: torch.Tensor, blank: int = 0, eos: int = -1) -> None:
        """Scorer over ``log_probs`` ``(T, V)`` (half precision is promoted to float32).

        ``eos`` is the end-of-sentence id (``-1``: no end token is ever a candidate).
        """
        if log_probs.dim() != 2 or log_probs.size(0) < 1:
            raise ValueError(f"log_probs must be (T, V) with T >= 1, got shape {tuple(log_probs.shape)}")
        vocab = log_probs.size(1)
        if not 0 <= blank < vocab:
            raise ValueError(f"blank={blank} is outside the vocabulary of size {vocab}")
        if eos == blank or not -1 <= eos < vocab:
            raise ValueError(f"eos={eos} must be -1 or a vocabulary id other than blank={blank}")
        self.x = log_probs.detach().float() if log_probs.dtype in (torch.float16, torch.bfloat16) else log_probs.detach()
        self.blank = blank
        self.eos = eos
        self.frames = log_probs.size(0)

    def initial_state(self) -> CTCPrefixState:
        """State of the empty prefix (one hypothesis): ``r^b_t = sum_{tau <= t} x_tau(blank)``, ``r^n_t = -inf``, ``psi = 0``."""
        x = self.x
        r = torch.stack([torch.full_like(x[:, self.blank], NEG_INF), x[:, self.blank].cumsum(0)], dim=-1)
        long = dict(dtype=torch.long, device=x.device)
        return CTCPrefixState(r[None], x.new_zeros(1), torch.full((1,), -1, **long), torch.zeros(1, **long))

    def score(self, states: CTCPrefixState, last_tokens: torch.Tensor,
              candidates: torch.Tensor) -> Tuple[torch.Tensor, CTCPrefixState]:
        """CTC prefix log-probabilities of every extension ``g + c`` (Watanabe et al. 2017, Algorithm 2).

        Args:
            states: ``N`` prefix states (leading dim ``(N,)``).
            last_tokens: ``(N,)`` last token of each prefix (ignored for the empty prefix, whose
                ``r^n`` is ``-inf``; ``states.last`` is the usual argument).
            candidates: ``(N, K)`` candidate tokens per prefix; ``eos`` gets ``log P_ctc(g | x)``,
                ``blank`` gets ``-inf``.

        Returns:
            ``(scores (N, K), new_states)``: ``new_states`` has leading dims ``(N, K)``; pick the
            kept extensions with :meth:`select`.
        """
        n, k = candidates.shape
        if states.r.shape[:-2] != (n,) or last_tokens.shape != (n,):
            raise ValueError("states, last_tokens and candidates must agree on the number of hypotheses")
        x, frames = self.x, self.frames
        r_prev = states.r.transpose(0, 1)  # (T, N, 2)
        rn_g, rb_g = r_prev[..., 0, None], r_prev[..., 1, None]  # (T, N, 1)
        xc = x[:, candidates]  # (T, N, K)
        x_blank = x[:, self.blank, None, None]  # (T, 1, 1)
        repeat = (candidates == last_tokens[:, None])[None]  # (1, N, K)
        phi = torch.where(repeat, rb_g, torch.logaddexp(rn_g, rb_g))  # (T, N, K)

        rn = xc.new_full((frames, n, k), NEG_INF)
        rb = xc.new_full((frames, n, k), NEG_INF)
        empty = (states.length == 0)[:, None]
        rn[0] = torch.where(empty, xc[0], rn[0])
        # Frames before the shortest prefix's length cannot hold any extension: start there.
        start = min(frames, max(1, int(states.length.min()))) if n > 0 else frames
        for t in range(start, frames):  # sequential over frames, vectorised over N × K
            rn[t] = torch.logaddexp(rn[t - 1], phi[t - 1]) + xc[t]
            rb[t] = torch.logaddexp(rn[t - 1], rb[t - 1]) + x_blank[t]
        psi = rn[start - 1]
        if start < frames:  # psi = logsumexp(r^n_{start-1}, phi_{t-1} + x_t(c) for t >= start), all frames at once
            psi = torch.logsumexp(torch.cat([psi[None], phi[start - 1:-1] + xc[start:]], dim=0), dim=0)
        full = torch.logaddexp(rn_g[-1], rb_g[-1]).expand(n, k)
        psi = torch.where(candidates == self.eos, full, psi)
        psi = torch.where(candidates == self.blank, torch.full_like(psi, NEG_INF), psi)
        new = CTCPrefixState(
            torch.stack([rn, rb], dim=-1).permute(1, 2, 0, 3),  # (N, K, T, 2)
            psi, candidates, (states.length[:, None] + 1).expand(n, k),
        )
        return psi, new

    @staticmethod
    def select(new_states: CTCPrefixState, hyp_index: torch.Tensor, cand_index: torch.Tensor) -> CTCPrefixState:
        """States of the chosen extensions ``(hyp_index[m], cand_index[m])`` of :meth:`score`'s output (leading dim ``(M,)``)."""
        return CTCPrefixState(*(field[hyp_index, cand_index] for field in new_states))
