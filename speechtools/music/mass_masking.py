"""MASS span masking as SongMASS applies it (Song et al. 2019; Sheng et al. 2021 Sec. 3.1;
muzic ``songmass/mass/music_mass_dataset.py``).

The sequence (``[align]`` and ``[sep]`` removed, sentence index per token kept) is cut into
``max(1, round(len / (10 / ratio)))`` segments of ``len // segments`` tokens (the last takes the
rest). In each segment one span of ``max(1, round(seg_len * ratio))`` tokens is masked; it starts
at the segment start with probability 0.2, ends at the segment end with 0.2, and starts uniformly
in between with 0.6. Encoder input: the span's tokens become ``<mask>`` (80%), a random token (10%)
or stay (10%). Decoder: predicts the span; its input is the span shifted right by one (the token
before the span, or ``</s>`` at the start), noised with ``decoder_probs`` (mask, random, keep).

Melody (``pairs=True``): segment bounds and span start/length are even and (pitch, duration)
pairs are masked, replaced and kept together, so masks fall on note boundaries; random
replacements draw a pitch and a duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from speechtools.music.song_vocab import EOS_ID, MASK_ID

Range = Tuple[int, int]


@dataclass
class MassExample:
    """One masked sequence: encoder input, decoder input/target, their sentence indices and positions."""

    source: List[int]
    source_sentences: List[int]
    prev: List[int]
    target: List[int]
    target_sentences: List[int]
    target_positions: List[int]


def segments(length: int, ratio: float, pairs: bool) -> List[Tuple[int, int]]:
    """``[start, end)`` of each segment (even bounds for pairs)."""
    count = max(1, round(length / (10 / ratio)))
    size = length // count
    out = []
    for k in range(count):
        start, end = k * size, length if k == count - 1 else (k + 1) * size
        if pairs:
            start, end = start - start % 2, end - end % 2
        out.append((start, end))
    return out


def span_start(start: int, last: int, rng: np.random.Generator) -> int:
    """Segment start (p 0.2), ``last`` (p 0.2) or uniform in ``[start, last]`` (p 0.6) (reference ``mask_start``)."""
    p = rng.random()
    if p >= 0.8:
        return start
    if p >= 0.6:
        return last
    return int(rng.integers(start, last + 1))


def span(start: int, end: int, ratio: float, pairs: bool, rng: np.random.Generator) -> Tuple[int, int]:
    """``(span start, span length)`` inside ``[start, end)``."""
    length = round((end - start) * ratio)
    if pairs:
        length = max(2, length - length % 2)
    length = max(1, min(length, end - start))
    first = span_start(start, end - length, rng)
    if pairs:
        first -= first % 2
    return first, length


def noised(tokens: Sequence[int], probs: Sequence[float], ranges: Sequence[Range], pairs: bool, rng: np.random.Generator) -> List[int]:
    """Each token (each pair) becomes ``<mask>``, a random token from ``ranges`` or stays, with ``probs``."""
    out = list(tokens)
    step = 2 if pairs else 1
    for k in range(0, len(out) - step + 1, step):
        choice = rng.choice(3, p=probs)
        for j in range(step):
            if choice == 0:
                out[k + j] = MASK_ID
            elif choice == 1:
                lo, hi = ranges[j % len(ranges)]
                out[k + j] = int(rng.integers(lo, hi))
    return out


def mass_example(tokens: Sequence[int], sentences: Sequence[int], ranges: Sequence[Range], rng: np.random.Generator,
                 ratio: float = 0.25, pairs: bool = False, source_probs: Sequence[float] = (0.8, 0.1, 0.1),
                 decoder_probs: Sequence[float] = (0.1, 0.1, 0.8)) -> MassExample:
    """Mask one span per segment of ``tokens`` (module docstring); the source ends with ``</s>`` (sentence -1)."""
    if pairs and len(tokens) % 2:
        raise ValueError(f"a melody of {len(tokens)} tokens is not (pitch, duration) pairs")
    source = list(tokens)
    prev: List[int] = []
    target: List[int] = []
    target_positions: List[int] = []
    for start, end in segments(len(tokens), ratio, pairs):
        if end <= start:
            continue
        first, length = span(start, end, ratio, pairs, rng)
        piece = list(tokens[first:first + length])
        source[first:first + length] = noised(piece, source_probs, ranges, pairs, rng)
        before = EOS_ID if first == 0 else int(tokens[first - 1])
        prev += [before] + noised(piece, decoder_probs, ranges, pairs, rng)[:-1]
        target += piece
        target_positions += list(range(first, first + length))
    return MassExample(source + [EOS_ID], list(sentences) + [-1], prev, target, [sentences[p] for p in target_positions], target_positions)
