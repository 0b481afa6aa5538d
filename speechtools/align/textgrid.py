"""Import Montreal Forced Aligner TextGrids as token durations in frames.

MFA writes Praat TextGrids (long or short text format) with a ``phones`` tier of ARPAbet
phones with stress (``AH0``) and empty/``sil``/``sp``/``spn`` intervals for silence. Our
token sequences (front-end ``en_phone``) also hold ``<space>`` and punctuation tokens, which
MFA has no phones for. Mapping:

* interval edges in seconds become frame indices with the feature hop,
  ``round(t · sample_rate / hop)``, clipped to the utterance's frame count, and the last edge
  is the frame count, so the durations sum to it exactly;
* each phone token takes the next MFA phone (stress digits may differ: they are compared
  without them); a mismatch is an error naming the utterance and both phones;
* a silence interval goes to the next non-phone token (word boundary or punctuation) if one
  comes before the next phone, otherwise to the neighbouring phone; leading silence goes to
  the first token; non-phone tokens without a silence get 0 frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import numpy as np

from speechtools.errors import PathLike, UserError

SILENCES = {"", "sil", "sp", "spn", "<eps>", "silence"}


@dataclass(frozen=True)
class Interval:
    """One labelled span of a tier, in seconds."""

    start: float
    end: float
    label: str


_LONG_TIER = re.compile(r'item\s*\[\d+\]\s*:\s*class\s*=\s*"IntervalTier"\s*name\s*=\s*"(?P<name>[^"]*)"(?P<body>.*?)(?=item\s*\[\d+\]\s*:|\Z)', re.S)
_LONG_INTERVAL = re.compile(r'intervals\s*\[\d+\]\s*:?\s*xmin\s*=\s*(?P<a>[-\d.eE+]+)\s*xmax\s*=\s*(?P<b>[-\d.eE+]+)\s*text\s*=\s*"(?P<t>(?:[^"]|"")*)"', re.S)


def read_textgrid_tier(path: PathLike, tier: str = "phones") -> List[Interval]:
    """Intervals of ``tier`` from a TextGrid in long or short text format.

    Raises:
        UserError: unreadable file, no such tier, or malformed intervals.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError("no such TextGrid", p)
    raw = p.read_bytes()
    for enc in ("utf-8", "utf-16"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UserError("TextGrid is neither UTF-8 nor UTF-16", p)
    if 'ooTextFile' not in text:
        raise UserError("not a Praat TextGrid (no 'ooTextFile' header)", p, 1)
    names = []
    for match in _LONG_TIER.finditer(text):
        names.append(match.group("name"))
        if match.group("name") == tier:
            out = [Interval(float(m.group("a")), float(m.group("b")), m.group("t").replace('""', '"').strip())
                   for m in _LONG_INTERVAL.finditer(match.group("body"))]
            if not out:
                raise UserError(f"tier {tier!r} has no intervals", p)
            return out
    short = _read_short(text, tier)
    if short is not None:
        return short
    raise UserError(f"no interval tier named {tier!r} (tiers: {', '.join(names) or 'none found'})", p)


def _read_short(text: str, tier: str) -> List[Interval] | None:
    """Short format: a flat sequence of values after the header."""
    values = re.findall(r'"((?:[^"]|"")*)"|([-\d.eE+]+)', text)
    flat = [s if s or not n else n for s, n in values]
    try:
        i = flat.index("IntervalTier")
    except ValueError:
        return None
    while i < len(flat):
        if flat[i] != "IntervalTier":
            i += 1
            continue
        name, count = flat[i + 1], int(float(flat[i + 4]))
        body = flat[i + 5: i + 5 + 3 * count]
        if name == tier:
            return [Interval(float(body[j]), float(body[j + 1]), body[j + 2].strip()) for j in range(0, len(body), 3)]
        i += 5 + 3 * count
    return None


def _base(phone: str) -> str:
    return phone.rstrip("012").upper()


def textgrid_durations(
    intervals: Sequence[Interval], tokens: Sequence[str], n_frames: int, sample_rate: int, hop_length: int,
    is_phone=lambda t: t[:1].isalpha() and t[:1].isupper(), uttid: str = "",
) -> List[int]:
    """Frames per token from MFA phone intervals (module docstring gives the mapping).

    Raises:
        ValueError: the phones of the TextGrid do not match the tokens.
    """
    edges = np.clip(np.round(np.array([iv.end for iv in intervals]) * sample_rate / hop_length).astype(np.int64), 0, n_frames)
    edges[-1] = n_frames
    edges = np.maximum.accumulate(edges)
    frames = np.diff(np.concatenate([[0], edges]))
    durations = [0] * len(tokens)
    t = 0
    for iv, count in zip(intervals, frames):
        if iv.label.lower() in SILENCES:
            j = t
            while j < len(tokens) and not is_phone(tokens[j]):
                j += 1
            if j > t:
                target = t
            elif t > 0:
                target = t - 1
            else:
                target = 0
            if tokens:
                durations[min(target, len(tokens) - 1)] += int(count)
            continue
        while t < len(tokens) and not is_phone(tokens[t]):
            t += 1
        if t >= len(tokens):
            raise ValueError(f"{uttid}: TextGrid has more phones than the tokens ({iv.label!r} left over)")
        if _base(tokens[t]) != _base(iv.label):
            raise ValueError(f"{uttid}: TextGrid phone {iv.label!r} does not match token {tokens[t]!r} (token {t + 1})")
        durations[t] += int(count)
        t += 1
    if any(is_phone(tok) for tok in tokens[t:]):
        raise ValueError(f"{uttid}: TextGrid has fewer phones than the tokens")
    return durations
