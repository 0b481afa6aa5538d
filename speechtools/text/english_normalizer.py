"""English text normalisation: spell out what a reader would say.

Rule-based, in the tradition of Keith Ito's Tacotron ``english_cleaners`` (used by
ESPnet2's ``tacotron`` cleaner) extended to the conventions of the LJSpeech human
normalisation (Ito & Johnson, LJSpeech 1.1, column 3 of ``metadata.csv``): currency
("£10,000" -> "ten thousand pounds"), years ("1802" -> "eighteen oh two"), dates
("March 20, 1963" -> "March twenty, nineteen sixty-three"), times ("12:45 p.m." ->
"twelve forty-five p.m."), ordinals, decimals, percentages, Roman numerals after names
and headings ("Henry VIII" -> "Henry the eighth", "Chapter XII" -> "Chapter twelve"),
abbreviations ("Mr." -> "mister") and quote/dash cleaning.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, List, Match, Pattern, Tuple

from speechtools.text.numbers import cardinal, digits, ordinal, pairs, year

MONTHS = (
    "January February March April May June July August September October November December"
).split()
_MONTH_ABBREVIATIONS = {
    "jan": "January", "feb": "February", "mar": "March", "apr": "April", "jun": "June",
    "jul": "July", "aug": "August", "sep": "September", "sept": "September", "oct": "October",
    "nov": "November", "dec": "December",
}
# Titles and other abbreviations always followed by a period; expanded case-insensitively.
ABBREVIATIONS = {
    "mr": "mister", "mrs": "misess", "dr": "doctor", "drs": "doctors", "co": "company",
    "jr": "junior", "maj": "major", "gen": "general", "rev": "reverend", "hon": "honorable",
    "lt": "lieutenant", "sgt": "sergeant", "capt": "captain", "esq": "esquire", "ltd": "limited",
    "col": "colonel", "ft": "fort", "prof": "professor", "messrs": "messieurs", "inc": "incorporated",
    "gov": "governor", "sen": "senator", "rep": "representative", "mt": "mount", "vs": "versus",
    "etc": "et cetera", "no": "number", "nos": "numbers",
}
# Words after which a Roman numeral is unambiguous: a regnal name or a numbered heading.
_REGNAL_NAMES = (
    "Henry Edward George William Charles James Richard John Louis Napoleon Elizabeth Mary Anne "
    "Victoria Philip Frederick Pius Leo Gregory Innocent Clement Benedict Alexander Nebuchadnezzar "
    "Ptolemy Peter Paul Urban Boniface Alfonso Ferdinand Francis Joseph Nicholas Ivan Gustavus Sixtus"
).split()
_HEADINGS = "Chapter Part Book Volume Vol Act Scene Section Article Appendix Plate Table Figure".split()
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_ROMAN_RE = r"(?=[IVXLCDM])M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"

Rule = Tuple[Pattern[str], Callable[[Match[str]], str]]


def roman_to_int(numeral: str) -> int:
    """Value of a well-formed Roman numeral (subtractive notation)."""
    total = 0
    for i, ch in enumerate(numeral):
        value = _ROMAN_VALUES[ch]
        if i + 1 < len(numeral) and _ROMAN_VALUES[numeral[i + 1]] > value:
            total -= value
        else:
            total += value
    return total


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _money(amount: str, unit: str, units: str, sub: str, subs: str) -> str:
    whole, _, frac = amount.replace(",", "").partition(".")
    n = int(whole) if whole else 0
    cents = int((frac + "0")[:2]) if frac else 0
    parts = []
    if n or not cents:
        parts.append(f"{cardinal(n)} {unit if n == 1 else units}")
    if cents:
        parts.append(f"{cardinal(cents)} {sub if cents == 1 else subs}")
    return ", ".join(parts)


def _count(n: int, one: str, many: str) -> str:
    return f"{cardinal(n)} {one if n == 1 else many}"


def _plain_number(m: Match[str]) -> str:
    text = m.group(0)
    if "." in text:
        whole, _, frac = text.partition(".")
        head = cardinal(_number(whole)) if whole else ""
        return (head + " point " + digits(frac)).strip()
    if "," in text:
        return cardinal(_number(text))
    n = int(text)
    if len(text) > 1 and text.startswith("0"):
        return digits(text)
    if 1000 <= n <= 2999 and len(text) == 4:
        return year(n)
    if n >= 10000 and not text.endswith("000"):
        return digits(text)  # identifiers (zip codes, serial numbers); round counts stay cardinal
    return cardinal(n)


def _roman_after(words: List[str], ordinal_reading: bool) -> Rule:
    names = "|".join(words)
    # A lone C, L, D or M after a name is an initial ("George C. Marshall"), not a numeral.
    pattern = re.compile(rf"\b({names})\.? (?=[IVX]\b|[IVXLCDM]{{2,}}\b)({_ROMAN_RE})\b(?!')")

    def expand(m: Match[str]) -> str:
        value = roman_to_int(m.group(2))
        if ordinal_reading:
            return f"{m.group(1)} the {ordinal(value)}"
        return f"{m.group(1)} {cardinal(value)}"

    return pattern, expand


def _build_rules() -> List[Rule]:
    month = "|".join(MONTHS)
    rules: List[Rule] = [
        # Pre-decimal British money: "2s. 6d.", "£5 10s.", "4d." (shillings only where unambiguous).
        (re.compile(r"(?<=\d )(\d{1,2})s\.|\b(\d{1,2})s\.(?= ?\d{1,2}d\.)"),
         lambda m: _count(int(m.group(1) or m.group(2)), "shilling", "shillings")),
        (re.compile(r"\b(\d{1,2})d\.(?=$|\W)"), lambda m: _count(int(m.group(1)), "penny", "pence")),
        # Currency.
        (re.compile(r"£\s?([\d,]*\d(?:\.\d+)?)"), lambda m: _money(m.group(1), "pound", "pounds", "penny", "pence")),
        (re.compile(r"\$\s?([\d,]*\d(?:\.\d+)?)"), lambda m: _money(m.group(1), "dollar", "dollars", "cent", "cents")),
        (re.compile(r"(\d+(?:\.\d+)?)\s?%"), lambda m: _percent(m.group(1))),
        # Times: 12:45, 9:30 (the minutes read as a number, "oh" below ten).
        (re.compile(r"\b(\d{1,2}):(\d{2})\b"), _time),
        # Dates: "March 20, 1963", "November 22": cardinal day, as read in LJSpeech.
        (re.compile(rf"\b({month}) (\d{{1,2}})\b(?!,\d|\d)"), lambda m: f"{m.group(1)} {cardinal(int(m.group(2)))}"),
        # B.C./A.D. years read in pairs.
        (re.compile(r"\b(\d{3,4}) (B\.C\.|A\.D\.)"), lambda m: f"{pairs(int(m.group(1)))} {m.group(2)}"),
        # Box numbers and long serial numbers: digit by digit.
        (re.compile(r"\b([Bb]ox|No\.) ((?:\d{1,3},)+\d{3}|\d{4,})\b"), lambda m: f"{m.group(1)} {digits(m.group(2))}"),
        # Calibres: .38 -> thirty-eight.
        (re.compile(r"(?<![\w.])\.(\d{2})\b(?!\.\d)"), lambda m: cardinal(int(m.group(1)))),
        # Three-digit years after "in"/"year" (ancient history): "In 626" -> "six twenty-six".
        (re.compile(r"\b([Ii]n|year|page) (\d{3})\b(?=[,.;]|\s+(?:[A-Z]|the\b|he\b|when\b|after\b))"),
         lambda m: f"{m.group(1)} {pairs(int(m.group(2)))}"),
        # Four-digit counts after a verb: "were 1063 sleeping cells" (not a year).
        (re.compile(r"\b((?:were|was|are|is|contained|contains|had|has|have|with|than|over|nearly|only) )(\d{4})\b(?= [a-z])"),
         lambda m: m.group(1) + cardinal(int(m.group(2)))),
        # "No. 162", "Exhibit 133": numbers naming things, read in pairs.
        (re.compile(r"\b(No\.|Nos\.|Exhibit|Exhibits) (\d{3})\b(?![,.]\d)"), lambda m: f"{m.group(1)} {pairs(int(m.group(2)))}"),
        # Ordinals: 1st, 22nd, 10th.
        (re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)\b"), lambda m: ordinal(_number(m.group(1)))),
        # Letter-digit codes: C2766, VC836 -> spelled digit by digit.
        (re.compile(r"\b([A-Z]+)(\d+)\b"), lambda m: f"{' '.join(m.group(1))} {digits(m.group(2))}"),
        # Number-letter codes: 133-A.
        (re.compile(r"\b(\d+)-([A-Z])\b"), lambda m: f"{cardinal(int(m.group(1)))}-{m.group(2)}"),
        # Decades: 1960s, '60s.
        (re.compile(r"(?:\b|')(\d{3}|[1-9])0s\b"), lambda m: _decade(m.group(1))),
        # Remaining numbers: 1,000 / 3.5 / .38 / 1802.
        (re.compile(r"(?<![\d,])(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?![\d])(?<=\d)"), _plain_number),
    ]
    rules.append(_roman_after(_REGNAL_NAMES, ordinal_reading=True))
    rules.append(_roman_after(_HEADINGS, ordinal_reading=False))
    return rules


def _percent(number: str) -> str:
    whole, _, frac = number.partition(".")
    spoken = cardinal(int(whole)) + (" point " + digits(frac) if frac else "")
    return spoken + " percent"


def _time(m: Match[str]) -> str:
    hours, minutes = int(m.group(1)), int(m.group(2))
    if hours > 24 or minutes > 59:
        return m.group(0)
    if minutes == 0:
        return f"{cardinal(hours)} o'clock"
    if minutes < 10:
        return f"{cardinal(hours)} oh {cardinal(minutes)}"
    return f"{cardinal(hours)} {cardinal(minutes)}"


def _decade(stem: str) -> str:
    spoken = year(int(stem + "0")) if len(stem) == 3 else cardinal(int(stem + "0"))
    head, sep, last = spoken.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return head + sep + last


_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "`": "'", "´": "'"})
_RULES = _build_rules()
_ROMAN_RULES = _RULES[-2:]
_ABBREVIATION_RE = re.compile(r"\b(" + "|".join(sorted(ABBREVIATIONS, key=len, reverse=True)) + r")\.", re.IGNORECASE)
_MONTH_ABBREVIATION_RE = re.compile(
    r"\b(" + "|".join(sorted(_MONTH_ABBREVIATIONS, key=len, reverse=True)) + r")\.(?= ?\d)", re.IGNORECASE
)


def clean_punctuation(text: str) -> str:
    """Unicode to plain ASCII punctuation: curly quotes to straight, dashes to " -- ", accents
    stripped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = re.sub(r"\s*[—–]\s*", " -- ", text)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return " ".join(text.split())


def expand_abbreviations(text: str) -> str:
    """Expand titles and other period-marked abbreviations ("Mr." -> "mister", "No." -> "number")."""

    def expand(m: Match[str]) -> str:
        word = ABBREVIATIONS[m.group(1).lower()]
        return word.capitalize() if m.group(1)[0].isupper() else word

    text = re.sub(r"\bSt\.(?= [A-Z])", "Saint", text)
    text = re.sub(r"\bSt\.", "Street", text)
    text = expand_month_abbreviations(text)
    return _ABBREVIATION_RE.sub(expand, text)


def expand_month_abbreviations(text: str) -> str:
    """"Jan. 5" -> "January 5" (only before a number, where the abbreviation is unambiguous)."""
    return _MONTH_ABBREVIATION_RE.sub(lambda m: _MONTH_ABBREVIATIONS[m.group(1).lower()], text)


def expand_numbers(text: str) -> str:
    """Spell out currency, percentages, times, dates, ordinals, years, decimals and Roman
    numerals in context (regnal names and headings)."""
    for pattern, replace in _RULES:
        text = pattern.sub(replace, text)
    return text


def normalize_english(text: str) -> str:
    """Normalise English text for TTS: clean punctuation, spell out numbers and symbols,
    expand abbreviations. Case and sentence punctuation are kept (they carry prosody)."""
    text = clean_punctuation(text)
    text = expand_month_abbreviations(text)
    text = expand_numbers(text)
    text = text.replace("&", " and ")
    text = expand_abbreviations(text)
    return " ".join(text.split())


def canonical_words(text: str) -> List[str]:
    """Lower-cased words without diacritics and punctuation (hyphens, apostrophes, quotes): the
    form two normalisations are compared in."""
    text = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")
    text = text.replace("'", "")
    return re.sub(r"[^a-z0-9]+", " ", text).split()
