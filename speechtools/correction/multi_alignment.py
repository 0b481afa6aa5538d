"""Multi-candidate alignment of FastCorrect 2 (Leng et al., Findings of EMNLP 2021, Sec. 3.1;
reference ``FastCorrect2/scripts/align_cal_werdur_v2.py``, ``align_nbest_encoder``).

The n-best candidates of one utterance are aligned into a matrix whose rows all have the same
length, so the encoder can merge them position by position (paper Fig. 2):

1. **Anchor** (:func:`choose_anchor`): the candidate with the largest ``#tokens·1000 + #chars``.
2. **Pronunciation-aware alignment** (:func:`align_to_anchor`): every other candidate is aligned
   to the anchor by a Levenshtein alignment that uses a pronunciation distance in ``[0, 1]``
   (:class:`PronunciationDistance`: CMUdict phonemes for English, toneless pinyin for Mandarin).
3. **Matrix** (:func:`align_candidates`): a candidate token aligned to an anchor position goes
   there; a candidate token the anchor lacks opens a column with :data:`VOID` in the anchor and
   in every other candidate without a token there; an anchor token a candidate lacks is
   :data:`VOID` in that candidate.
4. **Training targets** (:func:`candidate_targets`): each row's FastCorrect edit-alignment
   durations against the reference (``VOID`` → 0) and the candidate label of the reference
   (``10000·#unchanged − char edit distance``, maximum → 1), plus every candidate's WER.

Input formats (:func:`parse_nbest_tsv`, :func:`parse_kaldi_nbest`, :func:`fit_to_n`) and
synthetic multi-candidate noise for text-only pre-training (:func:`noisy_candidates`,
:func:`correlated_candidates`) are
here too. Everything is a function of its arguments; the only caches live in
:class:`PronunciationDistance` instances.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import editdistance
import numpy as np

from speechtools.correction.edit_alignment import align_durations, signed_durations
from speechtools.correction.noising import INS_LEFT, INS_RIGHT, SUB, Noiser
from speechtools.correction.tokenizer import CONT, is_cjk
from speechtools.errors import PathLike, UserError
from speechtools.fileio import read_lines

VOID = "<void>"
DEFAULT_N = 4
TSV_SEPARATOR = "|||"
# Reference label: 10000·#unchanged − char edit distance (``final_merge_score``).
LABEL_TOKEN_WEIGHT = 10000
_TOL = 1e-6  # absolute tie tolerance of the DP backtrace (costs stay below ~1e7, rounding far below it)

Distance = Callable[[str, str], float]


# ---------------------------------------------------------------------------------------------
# 1. Anchor


def length_key(tokens: Sequence[str]) -> int:
    """The reference's sort key ``#tokens·1000 + #chars`` (``cal_token_char_num``)."""
    return len(tokens) * 1000 + sum(len(t) for t in tokens)


def choose_anchor(candidates: Sequence[Sequence[str]]) -> int:
    """Index of the anchor: the candidate with the largest :func:`length_key` (paper Sec. 3.1,
    "the longest candidate"; reference ``align_nbest_encoder`` step 1).

    Ties go to the **first** candidate in n-best order (the better-ranked hypothesis). The
    reference takes a stable ascending ``argsort`` and reverses it, which puts the *last* of the
    tied candidates first; tied candidates have equal token and character counts, so only the
    positions of ``<void>`` columns can differ.
    """
    if not candidates:
        raise ValueError("no candidates")
    keys = [length_key(c) for c in candidates]
    return int(np.argmax(keys))  # argmax returns the first maximum


# ---------------------------------------------------------------------------------------------
# 2. Pronunciation distance and the alignment to the anchor


class PronunciationDistance:
    """Normalised edit distance between two units' pronunciations, in ``[0, 1]`` (identity 0).

    * ``en``: CMUdict phonemes without stress marks (``speechtools.text.english_g2p.load_cmudict``;
      the smallest distance over a word's pronunciations); a word outside CMUdict falls back to
      its letters (``@@`` continuation marks removed).
    * ``zh``: toneless pinyin letters of each character (pypinyin ``Style.NORMAL``; the reference
      uses g2pM's toneless pinyin); a non-CJK unit (Latin word, digits) is its lower-case letters.

    Distance = ``editdistance(p, q) / max(len(p), len(q))`` minimised over the pronunciations.
    Pronunciations and distances are cached on the instance.
    """

    def __init__(self, lang: str) -> None:
        if lang not in ("en", "zh"):
            raise UserError(f"unknown language {lang!r}; choose en or zh")
        self.lang = lang
        self._prons: Dict[str, List[Tuple[str, ...]]] = {}
        self._pairs: Dict[Tuple[str, str], float] = {}
        self._cmu: Optional[Mapping[str, List[List[str]]]] = None

    def pronunciations(self, unit: str) -> List[Tuple[str, ...]]:
        """The phoneme (en) or pinyin-letter (zh) sequences of one unit."""
        if unit not in self._prons:
            self._prons[unit] = self._lookup(unit)
        return self._prons[unit]

    def _lookup(self, unit: str) -> List[Tuple[str, ...]]:
        word = unit[: -len(CONT)] if unit.endswith(CONT) and len(unit) > len(CONT) else unit
        if self.lang == "en":
            if self._cmu is None:
                from speechtools.text.english_g2p import load_cmudict

                self._cmu = load_cmudict()
            entries = self._cmu.get(word.lower())
            if entries:
                return list(dict.fromkeys(tuple(p.rstrip("012") for p in e) for e in entries))
            return [tuple(word.lower())]
        if len(word) == 1 and is_cjk(word):
            from pypinyin import Style, lazy_pinyin

            return [tuple(lazy_pinyin(word, style=Style.NORMAL)[0])]
        return [tuple(word.lower())]

    def __call__(self, a: str, b: str) -> float:
        if a == b:
            return 0.0
        key = (a, b) if a <= b else (b, a)
        if key not in self._pairs:
            best = 1.0
            for p in self.pronunciations(a):
                for q in self.pronunciations(b):
                    longest = max(len(p), len(q))
                    best = min(best, editdistance.eval(p, q) / longest if longest else 0.0)
            self._pairs[key] = best
        return self._pairs[key]

    def matrix(self, rows: Sequence[str], cols: Sequence[str]) -> np.ndarray:
        """``[[self(a, c) for c in cols] for a in rows]`` as an array, each distinct pair computed
        (or read from the cache) once: the cost matrix of :func:`align_to_anchor`."""
        row_units, row_index = np.unique(np.asarray(list(rows), dtype=object), return_inverse=True)
        col_units, col_index = np.unique(np.asarray(list(cols), dtype=object), return_inverse=True)
        table = np.array([[self(a, c) for c in col_units] for a in row_units], dtype=np.float64).reshape(len(row_units), len(col_units))
        return table[np.ix_(row_index.reshape(-1), col_index.reshape(-1))]


# Alignment operations: (anchor index or None, candidate index or None).
Op = Tuple[Optional[int], Optional[int]]


def align_to_anchor(
    anchor: Sequence[str], candidate: Sequence[str], distance: Distance, pronunciation_first: bool = False
) -> List[Op]:
    """Levenshtein alignment of ``candidate`` to ``anchor`` (paper Sec. 3.1, token and
    pronunciation similarity; reference ``calculate_wer_dur_v1(anchor, candidate)``).

    Returns the path as ``(i, j)`` pairs in order: ``(i, j)`` anchor token ``i`` aligned with
    candidate token ``j`` (match or substitution), ``(i, None)`` the candidate lacks anchor token
    ``i``, ``(None, j)`` candidate token ``j`` is an insertion relative to the anchor.

    Costs: insertion and deletion 1, substitution ``distance(a, c)`` in ``[0, 1]`` (identity 0).

    * ``pronunciation_first=False`` (default, the reference's order): the fewest token edits
      (unit costs, reference step 1), then the most identity matches (``max_identity``), then the
      smallest summed pronunciation cost (the reference ranks its tied paths by the pinyin
      character edit distance).
    * ``pronunciation_first=True``: the pronunciation-weighted cost alone. It can prefer several
      similar-sounding substitutions to one deletion + one insertion that keep identical tokens
      aligned (``x a b`` / ``a b y`` with close words), i.e. it shifts the columns.

    Remaining ties, tracing back from the end: substitution/match, then deletion, then insertion.
    The DP is row by row; each row's insertion chain is a running minimum (numpy, no loop over
    the candidate's tokens).
    """
    m, k = len(anchor), len(candidate)
    if list(anchor) == list(candidate):  # the one path with no edit
        return [(i, i) for i in range(m)]
    if isinstance(distance, PronunciationDistance) and m and k:
        pron = distance.matrix(anchor, candidate)
    else:
        pron = np.array([[distance(a, c) for c in candidate] for a in anchor], dtype=np.float64).reshape(m, k)
    ident = np.equal(np.asarray(list(anchor), dtype=object)[:, None], np.asarray(list(candidate), dtype=object)[None, :])
    ident = ident.astype(bool).reshape(m, k)
    if pronunciation_first:
        sub = np.where(ident, 0.0, pron)
        gap = 1.0
    else:
        b1 = float(m + k + 2)  # > any pronunciation sum
        b2 = b1 * b1  # > any identity bonus times b1
        sub = np.where(ident, -b1, b2 + pron)
        gap = b2 + 1.0
    cols = np.arange(k + 1, dtype=np.float64) * gap
    dp = np.empty((m + 1, k + 1), dtype=np.float64)
    dp[0] = cols
    for i in range(1, m + 1):
        e = np.empty(k + 1, dtype=np.float64)
        e[0] = dp[i - 1, 0] + gap
        e[1:] = np.minimum(dp[i - 1, 1:] + gap, dp[i - 1, :-1] + sub[i - 1])
        dp[i] = np.minimum.accumulate(e - cols) + cols
    ops: List[Op] = []
    i, j = m, k
    while i > 0 or j > 0:
        if i > 0 and j > 0 and abs(dp[i, j] - (dp[i - 1, j - 1] + sub[i - 1, j - 1])) < _TOL:
            ops.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and abs(dp[i, j] - (dp[i - 1, j] + gap)) < _TOL:
            ops.append((i - 1, None))
            i -= 1
        else:
            ops.append((None, j - 1))
            j -= 1
    ops.reverse()
    return ops


# ---------------------------------------------------------------------------------------------
# 3. The multi-candidate matrix


@dataclass
class MultiAlignment:
    """Aligned candidates: ``rows[c]`` is candidate ``c`` (input order) with :data:`VOID` where
    it has no token; all rows have the same length; ``anchor`` indexes the anchor row."""

    rows: List[List[str]]
    anchor: int

    @property
    def width(self) -> int:
        return len(self.rows[0]) if self.rows else 0

    def tokens(self, c: int) -> List[str]:
        """Candidate ``c`` without its :data:`VOID` placeholders (the candidate itself)."""
        return [t for t in self.rows[c] if t != VOID]


def align_candidates(
    candidates: Sequence[Sequence[str]],
    lang: str = "en",
    distance: Optional[Distance] = None,
    pronunciation_first: bool = False,
) -> MultiAlignment:
    """Align n-best candidates (lists of units) into one matrix (paper Sec. 3.1; reference
    ``align_nbest_encoder``).

    Each non-anchor candidate is aligned to the anchor by :func:`align_to_anchor`. Between two
    anchor positions (and before the first, after the last) the matrix gets as many columns as
    the most insertions any candidate has there; each candidate's inserted tokens fill those
    columns from the left and the rest of the column is :data:`VOID` (as the reference, which
    re-uses an existing ``<void>`` column for a later candidate's insertion at the same place).
    The result does not depend on the order in which candidates are aligned.

    Args:
        candidates: the n-best list, best first; a candidate may be empty.
        lang: ``en`` or ``zh`` for the default :class:`PronunciationDistance`.
        distance: a unit distance in ``[0, 1]`` replacing the default.
        pronunciation_first: see :func:`align_to_anchor`.
    """
    if not candidates:
        raise ValueError("no candidates")
    for c, cand in enumerate(candidates):
        if VOID in cand:
            raise ValueError(f"candidate {c} contains the placeholder {VOID}")
    dist = distance if distance is not None else PronunciationDistance(lang)
    a = choose_anchor(candidates)
    anchor = list(candidates[a])
    m = len(anchor)
    # at[c][i]: candidate c's token at anchor position i; gaps[c][g]: its insertions before anchor token g.
    at: List[List[str]] = []
    gaps: List[List[List[str]]] = []
    for c, cand in enumerate(candidates):
        row = list(anchor) if c == a else [VOID] * m
        ins: List[List[str]] = [[] for _ in range(m + 1)]
        if c != a:
            nxt = 0  # the next anchor position: insertions go into the gap before it
            for i, j in align_to_anchor(anchor, cand, dist, pronunciation_first):
                if i is None:
                    ins[nxt].append(cand[j])  # type: ignore[index]
                    continue
                if j is not None:
                    row[i] = cand[j]
                nxt = i + 1
        at.append(row)
        gaps.append(ins)
    width = [max(len(g[pos]) for g in gaps) for pos in range(m + 1)]
    rows: List[List[str]] = []
    for row, ins in zip(at, gaps):
        out: List[str] = []
        for pos in range(m + 1):
            out.extend(ins[pos] + [VOID] * (width[pos] - len(ins[pos])))
            if pos < m:
                out.append(row[pos])
        rows.append(out)
    return MultiAlignment(rows=rows, anchor=a)


# ---------------------------------------------------------------------------------------------
# 4. Durations and candidate labels against the reference


@dataclass
class CandidateTargets:
    """Training targets of one aligned n-best list against its reference.

    ``durations[c]`` has one entry per column of row ``c``: :data:`VOID` → 0, a token → its
    FastCorrect edit-alignment duration. ``signed[c]`` stores them as the reference's ``.werdur``
    (``+d`` for a token mapped to exactly one identical target, else ``-d``). ``labels`` is the
    reference's binary candidate label (1 for every candidate with the maximal ``scores``).
    """

    durations: List[List[int]]
    signed: List[List[int]]
    unchanged: List[int]
    char_distance: List[int]
    scores: List[int]
    labels: List[int]
    wer: List[float]
    best: int = field(default=0)


def word_error_rate(hypothesis: Sequence[str], reference: Sequence[str]) -> float:
    """Token edit distance / reference length; with an empty reference the number of hypothesis
    tokens (jiwer's convention: ``wer('', 'a b') == 2``)."""
    errors = editdistance.eval(list(hypothesis), list(reference))
    return errors / len(reference) if reference else float(errors)


def _char_string(tokens: Sequence[str], lang: str, dist: Optional[PronunciationDistance]) -> List[str]:
    units = [t[: -len(CONT)] if t.endswith(CONT) and len(t) > len(CONT) else t for t in tokens]
    if lang == "zh" and dist is not None:
        return [ch for u in units for p in dist.pronunciations(u)[:1] for ch in p]
    return [ch for u in units for ch in u]


def char_distance(hypothesis: Sequence[str], reference: Sequence[str], lang: str = "en", distance: Optional[PronunciationDistance] = None) -> int:
    """Character edit distance with spaces removed (reference ``cal_charwer``); for Mandarin over
    the toneless pinyin letters of the characters (``cal_charwer_zh``)."""
    dist = distance if distance is not None else (PronunciationDistance(lang) if lang == "zh" else None)
    return int(editdistance.eval(_char_string(hypothesis, lang, dist), _char_string(reference, lang, dist)))


def candidate_targets(alignment: MultiAlignment, target: Sequence[str], lang: str = "en",
                      plain: Optional[Sequence[Sequence[int]]] = None) -> CandidateTargets:
    """Durations and candidate labels of an aligned n-best list (reference ``align_nbest_encoder``,
    second half; paper Sec. 3.2 duration predictor and candidate predictor targets).

    Durations: FastCorrect's edit alignment (:func:`~speechtools.correction.edit_alignment.align_durations`)
    of each candidate's non-void tokens against ``target``, placed at the token columns, with 0 at
    every :data:`VOID` (it is no source token). Hence for every row ``c``, with
    ``kept = [d for t, d in zip(rows[c], durations[c]) if t != VOID]``:
    ``sum(durations[c]) == len(target)``, ``kept == align_pair(alignment.tokens(c), target)``, and
    ``expand(alignment.tokens(c), kept)`` is the decoder input of that candidate: exactly
    ``len(target)`` tokens, the ``j``-th being the candidate token that produces ``target[j]``
    (equal to ``target`` itself only where the candidate is right, e.g. for ``target`` as
    candidate: FastCorrect's ``B B D E F``, ``2 1 1 0 1`` → ``B B B D F`` for ``A B C D F``).

    Label: ``score = 10000·#unchanged − char edit distance``, where ``#unchanged`` counts tokens
    mapped to exactly one identical target token (signed duration ``+1``) and the char distance is
    :func:`char_distance` to the target; ``labels[c] = 1`` for every candidate with the maximal
    score (the reference's ``final_merge_score``), ``best`` is the first of them. ``wer`` is each
    candidate's :func:`word_error_rate`.

    ``plain``: the candidates' edit-alignment durations when the caller computed them already
    (:func:`align_durations` over many lists at once is vectorised; see
    :func:`speechtools.tasks.correction.build_nbest_items`).

    Raises:
        ValueError: a candidate is empty and the target is not (no token can produce the target;
            the reference drops such lines).
    """
    cands = [alignment.tokens(c) for c in range(len(alignment.rows))]
    for c, cand in enumerate(cands):
        if not cand and target:
            raise ValueError(f"candidate {c} is empty but the target is not")
    tgt = list(target)
    if plain is None:
        plain = align_durations([(cand, tgt) for cand in cands])
    dist = PronunciationDistance(lang) if lang == "zh" else None
    durations: List[List[int]] = []
    signed: List[List[int]] = []
    unchanged: List[int] = []
    chars: List[int] = []
    for row, cand, durs in zip(alignment.rows, cands, plain):
        sgn = signed_durations(cand, tgt, durs)
        it_plain, it_signed = iter(durs), iter(sgn)
        durations.append([0 if t == VOID else next(it_plain) for t in row])
        signed.append([0 if t == VOID else next(it_signed) for t in row])
        unchanged.append(sum(1 for d in sgn if d == 1))
        chars.append(char_distance(cand, tgt, lang, dist))
    scores = [LABEL_TOKEN_WEIGHT * u - ch for u, ch in zip(unchanged, chars)]
    top = max(scores)
    return CandidateTargets(
        durations=durations,
        signed=signed,
        unchanged=unchanged,
        char_distance=chars,
        scores=scores,
        labels=[int(s == top) for s in scores],
        wer=[word_error_rate(cand, tgt) for cand in cands],
        best=scores.index(top),
    )


def format_werdur(alignment: MultiAlignment, targets: CandidateTargets) -> str:
    """The reference's aligned source line (NeuralSpeech #35):
    ``c1 … <void> … label1 ||| c2 … label2 |||| d1 … ||| d2 …`` with signed durations."""
    toks = " ||| ".join(" ".join(row + [str(lab)]) for row, lab in zip(alignment.rows, targets.labels))
    durs = " ||| ".join(" ".join(str(d) for d in row) for row in targets.signed)
    return f"{toks} |||| {durs}"


# ---------------------------------------------------------------------------------------------
# 5. n-best input formats


def _unique(cands: List[str], dedupe: bool) -> List[str]:
    return list(dict.fromkeys(cands)) if dedupe else cands


def parse_nbest_tsv(lines: Iterable[str], path: PathLike = "<input>", dedupe: bool = True) -> Dict[str, List[str]]:
    """``id<TAB>1-best[<TAB>cand1 ||| cand2 ||| ...]`` lines → ``id → [candidates]`` (input order).

    The candidates are the 1-best field followed by the n-best field's entries. In the Kathleen
    recipe's ``asr_hyp.tsv`` (pocketsphinx, 593 lines, 4 entries each) the n-best field does
    **not** simply repeat the 1-best: its first entry equals the 1-best on 395 lines, the 1-best
    is absent from it on 163, and 364 lines repeat an entry (different segmentations of the same
    words). So the 1-best always comes first and, with ``dedupe`` (default), an entry equal to an
    earlier candidate (after squeezing spaces) is dropped (there: 1 to 5 distinct candidates,
    one on 26 lines), as beam search gives distinct hypotheses. A line with only the 1-best (or
    an empty n-best field) has one candidate. The 1-best may be empty (nothing recognised).

    Raises:
        UserError: naming ``path`` and the line: not 2 or 3 tab-separated fields, an empty or
            space-containing id, a repeated id, or an empty entry in the n-best field.
    """
    out: Dict[str, List[str]] = {}
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) not in (2, 3):
            raise UserError(f"expected 'id<TAB>1-best[<TAB>cand1 {TSV_SEPARATOR} cand2 ...]', found {len(fields)} field(s)", path, number)
        key = fields[0].strip()
        if not key or any(ch.isspace() for ch in key):
            raise UserError(f"bad utterance id {fields[0]!r}", path, number)
        if key in out:
            raise UserError(f"utterance {key!r} appears twice", path, number)
        cands = [" ".join(fields[1].split())]
        if len(fields) == 3 and fields[2].strip():
            entries = [" ".join(e.split()) for e in fields[2].split(TSV_SEPARATOR)]
            if not all(entries):
                raise UserError(f"empty candidate {entries.index('') + 1} in the n-best field", path, number)
            cands += entries
        out[key] = _unique(cands, dedupe)
    return out


def format_nbest_tsv(key: str, candidates: Sequence[str]) -> str:
    """One line of the ``id<TAB>1-best<TAB>cand1 ||| cand2 ...`` format (no newline), the inverse
    of :func:`parse_nbest_tsv`: the first candidate is the 1-best field; the n-best field lists
    the distinct non-empty candidates in order, the 1-best included (as ``asr_hyp.tsv``), and is
    left out when that is the 1-best alone. Reading the line back gives the candidates with
    repeats and empty entries after the first dropped.

    Raises:
        ValueError: an empty or space-containing key, no candidate, or a candidate holding a
            tab, a newline or the separator ``|||``.
    """
    if not key or any(ch.isspace() for ch in key):
        raise ValueError(f"bad utterance id {key!r}")
    if not candidates:
        raise ValueError(f"utterance {key!r} has no candidate")
    cands = [" ".join(c.split()) for c in candidates]
    for raw in candidates:
        if "\t" in raw or "\n" in raw or TSV_SEPARATOR in raw:
            raise ValueError(f"candidate {raw!r} of {key!r} holds a tab, a newline or {TSV_SEPARATOR!r}")
    entries = list(dict.fromkeys(c for c in cands if c))
    if entries == cands[:1]:
        return f"{key}\t{cands[0]}"
    return f"{key}\t{cands[0]}\t{f' {TSV_SEPARATOR} '.join(entries)}"


_KALDI_KEY = re.compile(r"^(\S+)-([1-9][0-9]*)$")


def parse_kaldi_nbest(lines: Iterable[str], path: PathLike = "<input>", dedupe: bool = True) -> Dict[str, List[str]]:
    """Kaldi n-best text (``lattice-to-nbest`` + ``nbest-to-linear`` style): ``<uttid>-<rank> words``
    → ``uttid → [candidates]`` ordered by rank; utterances in order of first appearance.

    Convention: the rank is the number after the **last** ``-`` of the key, starting at 1, without
    leading zeros (so ``spk-utt-2`` is rank 2 of ``spk-utt``, and a plain Kaldi ``text`` with ids
    like ``LJ001-0001`` is rejected instead of misread). Each utterance must have ranks exactly
    ``1..k``, in any order. A line with a key and no words is an empty candidate. ``dedupe``
    drops a candidate equal to a better-ranked one.

    Raises:
        UserError: naming ``path`` and the line: a key without ``-<rank>``, a repeated rank, or
            (at the utterance's first line) missing ranks.
    """
    ranks: Dict[str, Dict[int, str]] = {}
    first_line: Dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        parts = line.split(maxsplit=1)
        if not parts:
            continue
        match = _KALDI_KEY.match(parts[0])
        if match is None:
            raise UserError(f"expected '<uttid>-<rank> words' (rank 1, 2, ...), found key {parts[0]!r}", path, number)
        utt, rank = match.group(1), int(match.group(2))
        entry = ranks.setdefault(utt, {})
        first_line.setdefault(utt, number)
        if rank in entry:
            raise UserError(f"rank {rank} of utterance {utt!r} appears twice", path, number)
        entry[rank] = " ".join(parts[1].split()) if len(parts) > 1 else ""
    out: Dict[str, List[str]] = {}
    for utt, entry in ranks.items():
        missing = sorted(set(range(1, max(entry) + 1)) - set(entry))
        if missing:
            raise UserError(f"utterance {utt!r} lacks rank(s) {' '.join(map(str, missing))}", path, first_line[utt])
        out[utt] = _unique([entry[r] for r in sorted(entry)], dedupe)
    return out


def read_nbest(path: PathLike, fmt: str = "auto", dedupe: bool = True) -> Dict[str, List[str]]:
    """Read an n-best file: ``fmt`` ``tsv`` (:func:`parse_nbest_tsv`), ``kaldi``
    (:func:`parse_kaldi_nbest`) or ``auto`` (``tsv`` when the first non-blank line has a tab)."""
    lines = [line for _, line in read_lines(path)]
    if fmt == "auto":
        first = next((line for line in lines if line.strip()), "")
        fmt = "tsv" if "\t" in first else "kaldi"
    if fmt == "tsv":
        return parse_nbest_tsv(lines, path, dedupe)
    if fmt == "kaldi":
        return parse_kaldi_nbest(lines, path, dedupe)
    raise UserError(f"unknown n-best format {fmt!r}; choose auto, tsv or kaldi")


def fit_to_n(candidates: Sequence[str], n: int = DEFAULT_N) -> List[str]:
    """Exactly ``n`` candidates: the first ``n``, or all of them followed by copies of the last.

    The reference model needs exactly its beam size (4) of candidates per input; repeating the
    last (worst-ranked) one adds no new hypothesis and keeps the better ones' order, and a
    single candidate becomes ``n`` copies of the 1-best (the single-candidate path).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not candidates:
        raise ValueError("no candidates")
    cands = list(candidates[:n])
    return cands + [cands[-1]] * (n - len(cands))


# ---------------------------------------------------------------------------------------------
# 6. Synthetic multi-candidate noise


def noisy_candidates(units: Sequence[str], noiser: Noiser, rng: np.random.Generator, n: int = DEFAULT_N) -> List[List[str]]:
    """``n`` noised copies of a clean sentence for text-only pre-training (the candidates of a
    pseudo n-best list; the clean sentence is the target). Copy 0 plays the 1-best.

    Each copy is an independent draw of FastCorrect's noise (``Noiser.noise``, paper Sec. 3.3).
    :func:`correlated_candidates` correlates the copies as the FastCorrect 2 reference does.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return [noiser.noise(units, rng) for _ in range(n)]


BEAM_PROB_RANGE = (0.15, 0.35)
"""Probability of the first and the last beam to carry a noise site's main error (reference, 4 beams:
0.15, 0.22, 0.28, 0.35); the beams between are spaced evenly."""
FOLLOW_PROB = 0.5
"""Probability that a beam other than the main one is noised at a noise site (reference)."""
SHARED_INSERT_PROB = 0.4
"""Probability that a following insertion repeats the main beam's inserted unit (reference)."""
FOLLOW_SUB_SHARE = 4 / 7
"""Share of substitutions among a following beam's operations after a deletion or an insertion; the
rest repeat the main operation (reference). After a substitution a beam follows with any operation,
drawn as the main one."""


def beam_probabilities(n: int) -> np.ndarray:
    """Probability of each of ``n`` beams to carry a noise site's main error: evenly spaced from
    :data:`BEAM_PROB_RANGE`'s first to its last value, normalised; beam 0 (the 1-best) is the least
    likely, as in the reference's ``prob_beam`` for 4 beams."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    probs = np.linspace(BEAM_PROB_RANGE[0], BEAM_PROB_RANGE[1], n)
    return probs / probs.sum()


def _follow_op(main_op: int, noiser: Noiser, rng: np.random.Generator) -> int:
    if main_op == SUB:
        return int(rng.choice(4, p=noiser.op_probs))
    return SUB if rng.random() < FOLLOW_SUB_SHARE else main_op


def correlated_candidates(units: Sequence[str], noiser: Noiser, rng: np.random.Generator, n: int = DEFAULT_N) -> List[List[str]]:
    """``n`` correlated noised copies of a clean sentence, like a recogniser's beams: the pseudo
    n-best noise of the FastCorrect 2 reference (``FastCorrect2/scripts/add_noise.py``).

    Each unit is a noise site with probability ``noiser.conf.ratio``. At a site one beam, drawn by
    :func:`beam_probabilities` (later beams more often), takes the main error: an operation drawn
    from ``noiser.op_probs`` and realised by ``Noiser.noise_unit``. Every other beam follows with
    probability :data:`FOLLOW_PROB`: after a substitution with any operation, after a deletion or
    an insertion with a substitution (:data:`FOLLOW_SUB_SHARE`) or the same operation, an insertion
    repeating the main beam's inserted unit with probability :data:`SHARED_INSERT_PROB`; otherwise
    it keeps the unit. So the beams share the positions of their errors, and beam 0 (the 1-best)
    is the cleanest on average. A copy noised to nothing is the clean sentence.
    """
    probs = beam_probabilities(n)
    beams: List[List[str]] = [[] for _ in range(n)]
    for unit in units:
        if rng.random() >= noiser.conf.ratio:
            for beam in beams:
                beam.append(unit)
            continue
        main = int(rng.choice(n, p=probs))
        main_op = int(rng.choice(4, p=noiser.op_probs))
        main_out = noiser.noise_unit(unit, main_op, rng)
        inserted = main_out[0] if main_op == INS_LEFT else main_out[-1] if main_op == INS_RIGHT else None
        for k, beam in enumerate(beams):
            if k == main:
                beam.extend(main_out)
            elif rng.random() >= FOLLOW_PROB:
                beam.append(unit)
            else:
                op = _follow_op(main_op, noiser, rng)
                out = noiser.noise_unit(unit, op, rng)
                if op == main_op and inserted is not None and rng.random() < SHARED_INSERT_PROB:
                    out = [inserted, unit] if op == INS_LEFT else [unit, inserted]
                beam.extend(out)
    return [beam if beam else list(units) for beam in beams]


CANDIDATE_NOISE = {"independent": noisy_candidates, "correlated": correlated_candidates}
"""The pseudo n-best generators by name (``correct noise --n-best-noise``)."""
