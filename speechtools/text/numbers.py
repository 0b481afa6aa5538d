"""Spelling out numbers in English words: cardinals, ordinals, years, digit strings.

Plain rules of English number names (as in Keith Ito's Tacotron ``cleaners`` and the
LJSpeech normalisation): cardinals without "and" ("one hundred seventy-five"), years
read in pairs ("eighteen oh two", "nineteen hundred"), ordinals by replacing the last
word ("twenty-first").

Every number a normaliser reads from text goes through :func:`integer` / :func:`decimal`,
which take the digit *string*: a number of more than :data:`MAX_CARDINAL_DIGITS` digits is
read digit by digit (never converted to an ``int``), so any length of input costs time
linear in its length.
"""

from __future__ import annotations

from typing import List

ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
# The longest number read as a cardinal (up to "nine hundred ninety-nine trillion ..."); longer
# digit strings are read digit by digit.
MAX_CARDINAL_DIGITS = 15

_ORDINAL_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}


def _below_hundred(n: int) -> str:
    if n < 20:
        return ONES[n]
    tens, ones = divmod(n, 10)
    return TENS[tens] + ("-" + ONES[ones] if ones else "")


def _below_thousand(n: int) -> List[str]:
    hundreds, rest = divmod(n, 100)
    words: List[str] = []
    if hundreds:
        words += [ONES[hundreds], "hundred"]
    if rest:
        words.append(_below_hundred(rest))
    return words


def cardinal(n: int) -> str:
    """Spell a non-negative integer as an English cardinal ("one hundred seventy-five").

    Short scale (billion = 10^9), no "and", hyphenated tens ("twenty-one"); numbers of more
    than :data:`MAX_CARDINAL_DIGITS` digits are read digit by digit.
    """
    if n < 0:
        return "minus " + cardinal(-n)
    if n == 0:
        return "zero"
    if n >= 10**MAX_CARDINAL_DIGITS:
        return digits(str(n))
    words: List[str] = []
    for value, name in SCALES:
        if n >= value:
            count, n = divmod(n, value)
            words += [cardinal(count), name]
    if n:
        words += _below_thousand(n)
    return " ".join(words)


def ordinal(n: int) -> str:
    """Spell an integer as an English ordinal ("twenty-first", "one hundredth")."""
    return _ordinal_words(cardinal(n))


def ordinal_text(text: str) -> str:
    """:func:`ordinal` of a digit string (grouping commas allowed); a number too long for a
    cardinal is read digit by digit with the last digit as the ordinal ("... nine third")."""
    return _ordinal_words(integer(text))


def _ordinal_words(words: str) -> str:
    head, sep, last = words.rpartition(" ")
    prefix, hyphen, tail = last.rpartition("-")
    if tail in _ORDINAL_IRREGULAR:
        tail = _ORDINAL_IRREGULAR[tail]
    elif tail.endswith("y"):
        tail = tail[:-1] + "ieth"
    else:
        tail += "th"
    return head + sep + prefix + hyphen + tail


def year(n: int) -> str:
    """Read a year the way English speakers do: 1802 "eighteen oh two", 1900 "nineteen hundred",
    2005 "two thousand five", 1963 "nineteen sixty-three"; other values as cardinals."""
    if not 1000 <= n <= 2999 or 2000 <= n <= 2009:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return cardinal(n) if high % 10 == 0 else _below_hundred(high) + " hundred"
    if low < 10:
        return _below_hundred(high) + " oh " + ONES[low]
    return _below_hundred(high) + " " + _below_hundred(low)


def pairs(n: int) -> str:
    """Read a three- or four-digit number in pairs ("484" "four eighty-four", "162" "one sixty-two").

    Used for numbers that name things (exhibits, B.C. years); a zero tens digit reads "oh".
    """
    high, low = divmod(n, 100)
    if high == 0:
        return cardinal(low)
    if low == 0:
        return cardinal(n)
    if low < 10:
        return _below_hundred(high) + " oh " + ONES[low]
    return _below_hundred(high) + " " + _below_hundred(low)


def digits(text: str) -> str:
    """Read a digit string digit by digit ("2915" "two nine one five")."""
    return " ".join(ONES[int(c)] for c in text if c.isdecimal())


def integer(text: str) -> str:
    """Read a digit string (grouping commas allowed) as a cardinal ("1,000" "one thousand");
    more than :data:`MAX_CARDINAL_DIGITS` digits are read digit by digit."""
    plain = text.replace(",", "")
    if len(plain) > MAX_CARDINAL_DIGITS:
        return digits(plain)
    return cardinal(int(plain))


def decimal(text: str) -> str:
    """Read a decimal number string ("3.5" "three point five", ".5" "point five", "1,000.25"
    "one thousand point two five"): the whole part by :func:`integer`, the rest digit by digit."""
    whole, _, frac = text.partition(".")
    head = integer(whole) if whole else ""
    return (head + " point " + digits(frac)).strip() if frac else head


def fraction(numerator: int, denominator: int) -> str:
    """Read a fraction ("one half", "three quarters", "two thirds", "five eighths")."""
    if denominator == 2:
        name = "half" if numerator == 1 else "halves"
    elif denominator == 4:
        name = "quarter" if numerator == 1 else "quarters"
    else:
        name = ordinal(denominator) + ("" if numerator == 1 else "s")
    return f"{cardinal(numerator)} {name}"
