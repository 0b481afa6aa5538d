"""Text front-ends by name: raw text -> normalised text -> model tokens.

=========  ==========================================================================
name       tokens
=========  ==========================================================================
en_phone   ARPAbet phones with stress (g2p-en, offline), ``<space>`` between words,
           punctuation ``, . ? ! ; :`` as pause tokens
en_char    lower-case letters and apostrophe, ``<space>`` between words, punctuation
zh_phone   pinyin initials and tonal finals (``h uar1``), punctuation as pause tokens,
           Latin letters spelled as upper-case letter tokens
=========  ==========================================================================

Every front-end has ``normalize(text) -> str`` and ``tokenize(text) -> list[str]``; text that
normalises to nothing gives ``[]`` (callers decide whether that is an error). Characters a
front-end cannot speak (another script, symbols without a reading) are dropped by ``tokenize``
and named by ``unspeakable(text)``, so callers can report them or refuse the line.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple

from speechtools.errors import UserError
from speechtools.text.cleaning import Unspeakable, unspeakable
from speechtools.text.english_g2p import PHONEMES, EnglishG2P
from speechtools.text.english_normalizer import normalize_english
from speechtools.text.mandarin import mandarin_dropped, mandarin_inventory, mandarin_phones, normalize_mandarin

WORD_BOUNDARY = "<space>"
PAUSE_TOKENS = (",", ".", "?", "!", ";", ":")
# Punctuation that is a pause but spelled differently: dashes, brackets, ellipsis.
_PAUSE_ALIASES = {"--": ",", "(": ",", ")": ",", "[": ",", "]": ",", "…": "."}
_ITEM_RE = re.compile(
    r"(?P<acronym>(?:[A-Za-z]\.){2,})|(?P<word>[A-Za-z]+(?:'[A-Za-z]+)*)|(?P<pause>--|[,.?!;:()\[\]…])"
)
# Marks that separate English words without being read (quotes, hyphen, slash).
_SILENT = frozenset("'\"-/")


class Frontend(Protocol):
    """What every text front-end offers."""

    name: str

    def normalize(self, text: str) -> str:
        """Normalised text (one line, no newline)."""

    def tokenize(self, text: str) -> List[str]:
        """Model tokens of ``text`` (normalised first); ``[]`` when nothing is left."""

    def inventory(self) -> List[str]:
        """Every token ``tokenize`` can produce."""

    def unspeakable(self, text: str) -> List[Unspeakable]:
        """The characters of ``text`` that ``tokenize`` drops without reading them."""


def english_items(normalized: str) -> List[Tuple[str, str]]:
    """Split normalised English into ``("word", w)`` and ``("pause", p)`` items; hyphens and
    quotes separate words, repeated punctuation collapses to its first mark, leading
    punctuation is dropped."""
    items: List[Tuple[str, str]] = []
    for m in _ITEM_RE.finditer(normalized):
        if m.group("pause"):
            mark = _PAUSE_ALIASES.get(m.group("pause"), m.group("pause"))
            if items and items[-1][0] == "word":
                items.append(("pause", mark))
        else:
            items.append(("word", m.group(0)))
    return items


def english_dropped(normalized: str) -> List[str]:
    """The characters of normalised English that :func:`english_items` skips, other than
    whitespace and the silent separators (quotes, hyphen, slash): letters of other scripts,
    symbols without a reading."""
    return [c for c in _ITEM_RE.sub(" ", normalized) if not c.isspace() and c not in _SILENT]


class _EnglishFrontend:
    """What the English front-ends share: the normaliser and the report of unspeakable characters."""

    def normalize(self, text: str) -> str:
        return normalize_english(text)

    def unspeakable(self, text: str) -> List[Unspeakable]:
        return unspeakable(text, english_dropped(self.normalize(text)))


def _join_words(items: List[Tuple[str, str]], spell: Callable[[List[str]], List[List[str]]]) -> List[str]:
    words = [w for kind, w in items if kind == "word"]
    spelled = iter(spell(words))
    tokens: List[str] = []
    for i, (kind, value) in enumerate(items):
        if kind == "pause":
            tokens.append(value)
            continue
        if i > 0 and items[i - 1][0] == "word":
            tokens.append(WORD_BOUNDARY)
        tokens += next(spelled)
    return tokens


class EnglishPhoneFrontend(_EnglishFrontend):
    """English: :func:`normalize_english`, then ARPAbet with stress per word (offline g2p-en)."""

    name = "en_phone"

    def __init__(self, use_pos_tagger: Optional[bool] = None) -> None:
        self.use_pos_tagger = use_pos_tagger
        self._g2p: Optional[EnglishG2P] = None

    @property
    def g2p(self) -> EnglishG2P:
        """The G2P, loaded on first use (normalising alone does not need the dictionary)."""
        if self._g2p is None:
            self._g2p = EnglishG2P(use_pos_tagger=self.use_pos_tagger)
        return self._g2p

    def tokenize(self, text: str) -> List[str]:
        items = english_items(self.normalize(text))
        return _join_words(items, self.g2p.words) if items else []

    def inventory(self) -> List[str]:
        return [p for p in PHONEMES if not p.startswith("<")] + list(PAUSE_TOKENS) + [WORD_BOUNDARY]


class EnglishCharFrontend(_EnglishFrontend):
    """English: :func:`normalize_english`, then lower-case characters per word."""

    name = "en_char"

    def tokenize(self, text: str) -> List[str]:
        return _join_words(english_items(self.normalize(text)), lambda ws: [list(w.lower().replace(".", "")) for w in ws])

    def inventory(self) -> List[str]:
        return [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"] + list(PAUSE_TOKENS) + [WORD_BOUNDARY]


class MandarinPhoneFrontend:
    """Mandarin: :func:`normalize_mandarin`, then pinyin initials/finals after tone sandhi and erhua.

    Args:
        yao: read 1 as 幺 in digit-by-digit strings (phone numbers).
    """

    name = "zh_phone"

    def __init__(self, yao: bool = False) -> None:
        self.yao = yao

    def normalize(self, text: str) -> str:
        return normalize_mandarin(text, yao=self.yao)

    def tokenize(self, text: str) -> List[str]:
        return mandarin_phones(text, yao=self.yao)

    def unspeakable(self, text: str) -> List[Unspeakable]:
        return unspeakable(text, mandarin_dropped(self.normalize(text)))

    def inventory(self) -> List[str]:
        return mandarin_inventory()


FRONTENDS: Dict[str, Callable[..., Frontend]] = {
    "en_phone": EnglishPhoneFrontend,
    "en_char": EnglishCharFrontend,
    "zh_phone": MandarinPhoneFrontend,
}
LANGUAGE_FRONTENDS = {"en": "en_phone", "zh": "zh_phone"}


def get_frontend(name: str, **options: Any) -> Frontend:
    """The front-end called ``name`` (``en_phone``, ``en_char``, ``zh_phone``).

    Raises:
        UserError: an unknown name (listing the known ones) or option.
    """
    if name not in FRONTENDS:
        raise UserError(f"unknown text front-end {name!r}; known: {', '.join(sorted(FRONTENDS))}")
    try:
        return FRONTENDS[name](**options)
    except TypeError as exc:
        raise UserError(f"bad option for text front-end {name!r}: {exc}") from None
