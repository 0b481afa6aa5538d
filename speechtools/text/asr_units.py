"""Output units of the speech recognisers: characters of a normalised transcript.

=========  ==========================================================================
name       units
=========  ==========================================================================
en_char    English: numbers, symbols and abbreviations spelled out by the TTS normaliser
           (:func:`speechtools.text.english_normalizer.normalize_english`), then lower case,
           punctuation removed except in-word apostrophes (the FastCorrect recipe's
           :func:`speechtools.correction.tokenizer.normalize_en`); units are ``a``-``z``,
           ``'`` and ``<space>`` between words
zh_char    Mandarin: :func:`speechtools.text.mandarin.normalize_mandarin` (numbers to
           characters, Latin letters spelled), then one unit per CJK character, Latin runs
           whole, no spaces (AISHELL-1 style)
=========  ==========================================================================

Characters are the default unit (ESPnet's small-data recipes use characters or a 30-piece
BPE): with tens of minutes of speech every unit is seen thousands of times and the vocabulary
is closed, so no transcript has an unknown unit. The token list of a recogniser is
``<blank>`` (id 0, CTC's blank), ``<unk>``, the units seen in training by frequency, and
``<sos/eos>`` last, ESPnet's layout (:func:`asr_token_list`). Every unit set offers the
front-end protocol (``normalize``, ``tokenize``, ``inventory``, ``unspeakable``) and
``detokenize``, the inverse of ``tokenize`` on normalised text.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List

from speechtools.correction.tokenizer import join_words, normalize_en, normalize_zh, split_words
from speechtools.errors import UserError
from speechtools.text.cleaning import Unspeakable, unspeakable
from speechtools.text.english_normalizer import normalize_english
from speechtools.text.mandarin import normalize_mandarin
from speechtools.text.tokens import UNK, TokenList

BLANK = "<blank>"
SOS_EOS = "<sos/eos>"
SPACE = "<space>"
ASR_SPECIALS = (BLANK, UNK)


class EnglishCharUnits:
    """English characters of :func:`normalize_en` (:func:`normalize_english` first), ``<space>`` between words."""

    name = "en_char"

    def normalize(self, text: str) -> str:
        return normalize_en(normalize_english(text))

    def tokenize(self, text: str) -> List[str]:
        units: List[str] = []
        for word in self.normalize(text).split():
            if units:
                units.append(SPACE)
            units.extend(word)
        return units

    def detokenize(self, units: Iterable[str]) -> str:
        """Inverse of :meth:`tokenize`: ``<space>`` becomes a space; repeated or edge spaces collapse."""
        return " ".join("".join(" " if u == SPACE else u for u in units).split())

    def inventory(self) -> List[str]:
        return [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'", SPACE]

    def unspeakable(self, text: str) -> List[Unspeakable]:
        allowed = set(self.inventory())
        return unspeakable(text, [c for c in self.normalize(text) if not c.isspace() and c not in allowed])


class MandarinCharUnits:
    """Mandarin characters of :func:`normalize_mandarin` (Latin runs and digits stay whole units)."""

    name = "zh_char"

    def normalize(self, text: str) -> str:
        return normalize_zh(normalize_mandarin(text))

    def tokenize(self, text: str) -> List[str]:
        return split_words(self.normalize(text), "zh")

    def detokenize(self, units: Iterable[str]) -> str:
        return join_words([u for u in units if u != SPACE], "zh")

    def inventory(self) -> List[str]:
        return []

    def unspeakable(self, text: str) -> List[Unspeakable]:
        return []


ASR_UNITS: Dict[str, Callable[[], "EnglishCharUnits | MandarinCharUnits"]] = {
    "en_char": EnglishCharUnits,
    "zh_char": MandarinCharUnits,
}


def get_asr_units(name: str) -> "EnglishCharUnits | MandarinCharUnits":
    """The unit set called ``name``; an unknown name is a :class:`UserError` listing the known ones."""
    if name not in ASR_UNITS:
        raise UserError(f"unknown ASR units {name!r}; known: {', '.join(sorted(ASR_UNITS))}")
    return ASR_UNITS[name]()


def asr_token_list(units: Iterable[str], extra: Iterable[str] = ()) -> TokenList:
    """ESPnet's layout: ``<blank>`` = 0, ``<unk>`` = 1, units by descending count (then ``extra``), ``<sos/eos>`` last."""
    built = TokenList.build(units, specials=ASR_SPECIALS, extra=extra)
    return TokenList([t for t in built.tokens if t != SOS_EOS] + [SOS_EOS])


def check_asr_token_list(tokens: TokenList, source: str = "tokens.txt") -> None:
    """A recogniser's token list must start with ``<blank>``, ``<unk>`` and end with ``<sos/eos>``."""
    if tokens.tokens[:2] != list(ASR_SPECIALS) or tokens.tokens[-1] != SOS_EOS or len(tokens) < 4:
        raise UserError(f"not an ASR token list (needs {BLANK} first, {UNK} second, {SOS_EOS} last; "
                        "build it with `speechtools make-tokens DATA --units NAME`)", source)
