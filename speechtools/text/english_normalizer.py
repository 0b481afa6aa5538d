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

from speechtools.text.cleaning import strip_controls, vulgar_fraction
from speechtools.text.numbers import cardinal, decimal, digits, fraction, integer, ordinal, ordinal_text, pairs, year

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
    "etc": "et cetera",
}
# "No." / "Nos." are "number(s)" only before a number ("He said no." keeps its word).
_NUMBER_ABBREVIATIONS = {"no": "number", "nos": "numbers"}
# Currency symbol -> unit, units, subunit, subunits (read after the amount).
CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", "sen", "sen"),
}
# Words after which a Roman numeral is unambiguous: a regnal name or a numbered heading.
_REGNAL_NAMES = (
    "Henry Edward George William Charles James Richard John Louis Napoleon Elizabeth Mary Anne "
    "Victoria Philip Frederick Pius Leo Gregory Innocent Clement Benedict Alexander Nebuchadnezzar "
    "Ptolemy Peter Paul Urban Boniface Alfonso Ferdinand Francis Joseph Nicholas Ivan Gustavus Sixtus"
).split()
_HEADINGS = "Chapter Part Book Volume Vol Act Scene Section Article Appendix Plate Table Figure".split()
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
# A well-formed numeral (1-3999); the look-behind after it makes sure it is not empty.
_ROMAN_RE = r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})(?<=[IVXLCDM])"
# One number as written: grouped thousands with optional decimals, plain digits with optional
# decimals, or a bare decimal (".5"); never starts inside a longer number (after a digit or a
# point, or after a digit and a comma: "1,2" is a list).
_NUM = r"(?<![\d.])(?<!\d,)(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_SINGLE_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")

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


def _money(amount: str, unit: str, units: str, sub: str, subs: str) -> str:
    """"3.50" -> "three dollars, fifty cents", ".50" -> "fifty cents"; more than two decimals
    cannot be cents: "0.001" -> "zero point zero zero one dollars"."""
    whole, _, frac = amount.replace(",", "").partition(".")
    if len(frac) > 2:
        return f"{decimal(amount)} {units}"
    cents = int((frac + "0")[:2]) if frac else 0
    parts = []
    if whole.strip("0") or not cents:
        parts.append(f"{integer(whole or '0')} {unit if whole.lstrip('0') == '1' else units}")
    if cents:
        parts.append(f"{cardinal(cents)} {sub if cents == 1 else subs}")
    return ", ".join(parts)


def _count(n: int, one: str, many: str) -> str:
    return f"{cardinal(n)} {one if n == 1 else many}"


def _plain_number(text: str) -> str:
    """One number (``_SINGLE_NUMBER``) in words."""
    if "." in text:
        return decimal(text)
    if "," in text:
        return integer(text)
    if len(text) > 1 and text.startswith("0"):
        return digits(text)
    if len(text) == 4 and 1000 <= int(text) <= 2999:
        return year(int(text))
    if len(text) >= 5 and not text.endswith("000"):
        return digits(text)  # identifiers (zip codes, serial numbers); round counts stay cardinal
    return integer(text)


def _number_run(m: Match[str]) -> str:
    """A run of digits, commas and points: one number, or a list ("1,2,3" -> "one, two, three";
    commas that are not thousands separators separate numbers), or a dotted sequence
    ("2.7.1" -> "two point seven point one")."""
    text = m.group(0)
    if _SINGLE_NUMBER.fullmatch(text):
        return _plain_number(text)
    if "," in text:
        return ", ".join(_number_run(piece) for piece in _PIECE.finditer(text))
    return " point ".join(_plain_number(piece) for piece in text.split(".") if piece)


def _fraction(m: Match[str]) -> str:
    spoken = fraction(int(m.group(2)), int(m.group(3)))
    if not m.group(1):
        return spoken
    return integer(m.group(1)) + " and " + ("a " + spoken[4:] if spoken.startswith("one ") else spoken)


def _scientific(m: Match[str]) -> str:
    sign = "minus " if m.group(2) in ("-", "\u2212") else ""
    return f"{decimal(m.group(1))} times ten to the power of {sign}{integer(m.group(3))}"


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
        # A minus sign before a number (not a hyphen between words or numbers): -5, −2.5, -$3.
        (re.compile(rf"(?<![\w.,)\]\-\u2212])[-\u2212](?=[{''.join(CURRENCIES)}]?\.?\d)"), lambda m: "minus "),
        # Currency.
        (re.compile(rf"([{''.join(CURRENCIES)}])\s?({_NUM})"), lambda m: _money(m.group(2), *CURRENCIES[m.group(1)])),
        (re.compile(rf"({_NUM})\s?%"), lambda m: decimal(m.group(1)) + " percent"),
        # Vulgar fractions (split from a preceding whole number by clean_punctuation): 3 1⁄2.
        (re.compile(r"(?:(?<![\d.,])(\d+) )?(?<![\d.,])(\d{1,3})\u2044(\d{1,3})(?!\d)"), _fraction),
        # Scientific notation: 1e308, 6.02E23, 1e-9 (never evaluated as a float).
        (re.compile(r"(?<![\w.,])(\d+(?:\.\d+)?)[eE]([-+\u2212]?)(\d+)\b"), _scientific),
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
        (re.compile(r"(?<![\w.])(?<!\d,)(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)\b"), lambda m: ordinal_text(m.group(1))),
        # Letter-digit codes: C2766, VC836 -> spelled digit by digit.
        (re.compile(r"\b([A-Z]+)(\d+)\b"), lambda m: f"{' '.join(m.group(1))} {digits(m.group(2))}"),
        # Number-letter codes: 133-A.
        (re.compile(r"\b(\d+)-([A-Z])\b"), lambda m: f"{integer(m.group(1))}-{m.group(2)}"),
        # Decades: 1960s, '60s.
        (re.compile(r"(?:\b|')(\d{3}|[1-9])0s\b"), lambda m: _decade(m.group(1))),
        # Remaining numbers: 1,000 / 3.5 / .38 / 1802, lists 1,2,3 and dotted 2.7.1.
        (re.compile(r"(?<![\d.])(?<!\d,)(?:\d[\d,.]*\d|\d|\.\d+)"), _number_run),
    ]
    rules.append(_roman_after(_REGNAL_NAMES, ordinal_reading=True))
    rules.append(_roman_after(_HEADINGS, ordinal_reading=False))
    return rules


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


_PIECE = re.compile(r"[^,]+")
_VULGAR_FRACTIONS = re.compile("[\u00bc-\u00be\u2150-\u215f\u2189]")
_SUPERSCRIPT_POWER = re.compile("(?<=[0-9])([\u00b2\u00b3\u00b9\u2070\u2074-\u2079]+)")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "`": "'", "´": "'"})
_RULES = _build_rules()
_ROMAN_RULES = _RULES[-2:]
_ABBREVIATION_RE = re.compile(r"\b(" + "|".join(sorted(ABBREVIATIONS, key=len, reverse=True)) + r")\.", re.IGNORECASE)
_MONTH_ABBREVIATION_RE = re.compile(
    r"\b(" + "|".join(sorted(_MONTH_ABBREVIATIONS, key=len, reverse=True)) + r")\.(?= ?\d)", re.IGNORECASE
)
# After expand_numbers the number is spelled: "No. one sixty-two".
_NUMBER_WORDS = ("zero oh one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
                 "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred").split()
_NUMBER_ABBREVIATION_RE = re.compile(r"\b((?i:nos|no))\.(?= ?(?:\d|(?:" + "|".join(_NUMBER_WORDS) + r")\b))")


def _split_fraction(m: Match[str]) -> str:
    parts = vulgar_fraction(m.group(0))
    return f" {parts[0]}\u2044{parts[1]}" if parts else m.group(0)


def _power(m: Match[str]) -> str:
    exponent = unicodedata.normalize("NFKC", m.group(1))
    return {"2": " squared", "3": " cubed"}.get(exponent, f" to the power of {exponent}")


def clean_punctuation(text: str) -> str:
    """Unicode to plain ASCII punctuation: escape sequences and invisible characters removed,
    curly quotes to straight, dashes to " -- ", accents stripped, whitespace collapsed.

    Compatibility folding (NFKC) never glues digits together: a vulgar fraction becomes its own
    number ("3½" -> "3 1⁄2") and superscript digits after a number a power ("10³" -> "10 cubed").
    """
    text = strip_controls(text)
    text = _VULGAR_FRACTIONS.sub(_split_fraction, text)
    text = _SUPERSCRIPT_POWER.sub(_power, text)
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = re.sub(r" ?[—–] ?", " -- ", " ".join(text.split()))
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
    text = _NUMBER_ABBREVIATION_RE.sub(lambda m: _NUMBER_ABBREVIATIONS[m.group(1).lower()].capitalize()
                                       if m.group(1)[0].isupper() else _NUMBER_ABBREVIATIONS[m.group(1).lower()], text)
    return _ABBREVIATION_RE.sub(expand, text)


def expand_month_abbreviations(text: str) -> str:
    """"Jan. 5" -> "January 5" (only before a number, where the abbreviation is unambiguous)."""
    return _MONTH_ABBREVIATION_RE.sub(lambda m: _MONTH_ABBREVIATIONS[m.group(1).lower()], text)


def _spaced(replace: Callable[[Match[str]], str]) -> Callable[[Match[str]], str]:
    """``replace`` with a space between its words and a letter or digit touching the match
    ("10km" -> "ten km", never "tenkm")."""

    def spaced(m: Match[str]) -> str:
        out = replace(m)
        if not out or out == m.group(0):
            return out
        text, start, end = m.string, m.start(), m.end()
        if start > 0 and text[start - 1].isalnum() and out[0].isalnum():
            out = " " + out
        if end < len(text) and text[end].isalnum() and out[-1].isalnum():
            out += " "
        return out

    return spaced


def expand_numbers(text: str) -> str:
    """Spell out currency, percentages, fractions, scientific notation, times, dates, ordinals,
    years, decimals, number lists and Roman numerals in context (regnal names and headings).

    Every number goes through :mod:`speechtools.text.numbers` as a digit string, so a number of
    any length costs time linear in its length (long ones are read digit by digit)."""
    for pattern, replace in _RULES:
        text = pattern.sub(_spaced(replace), text)
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
