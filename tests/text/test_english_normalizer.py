from __future__ import annotations

import random
from pathlib import Path

import pytest

from speechtools.text.english_normalizer import (
    canonical_words,
    clean_punctuation,
    expand_abbreviations,
    normalize_english,
    roman_to_int,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "text"


def test_ljspeech_sample_accuracy() -> None:
    """100 real LJSpeech sentences (every 11th whose raw and human-normalised columns differ):
    at least 97 must come out as the human normalisation, ignoring case and punctuation."""
    lines = (FIXTURES / "ljspeech_normalization_sample.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 100
    exact = 0
    for line in lines:
        _, raw, human = line.split("|")
        assert raw != human
        exact += canonical_words(normalize_english(raw)) == canonical_words(expand_abbreviations(human))
    assert exact >= 97


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("a fee of £10,000,", "a fee of ten thousand pounds,"),
        ("It cost $3.50.", "It cost three dollars, fifty cents."),
        ("It cost $1.", "It cost one dollar."),
        ("It rose 12.5% today", "It rose twelve point five percent today"),
        ("At 12:45 p.m. he left", "At twelve forty-five p.m. he left"),
        ("at 9:05 and at 10:00", "at nine oh five and at ten o'clock"),
        ("on November 22, 1963,", "on November twenty-two, nineteen sixty-three,"),
        ("on Jan. 5, 1999", "on January five, nineteen ninety-nine"),
        ("the 21st of the 3rd", "the twenty-first of the third"),
        ("a 6.5 millimeter rifle", "a six point five millimeter rifle"),
        ("a .38 caliber", "a thirty-eight caliber"),
        ("in 1802.", "in eighteen oh two."),
        ("there were 1063 sleeping cells", "there were one thousand sixty-three sleeping cells"),
        ("in 484 B.C. he", "in four eighty-four B.C. he"),
        ("the 1960s", "the nineteen sixties"),
        ("in the '60s and 80s", "in the sixties and eighties"),
        ("at 1s. 6d. each", "at one shilling six pence each"),
        ("a fee of £5 10s.", "a fee of five pounds ten shillings"),
        ("the 1,000th visitor", "the one thousandth visitor"),
        ("zip 30016, 100000 people", "zip three zero zero one six, one hundred thousand people"),
        ("Post Office Box 2915,", "Post Office Box two nine one five,"),
        ("Exhibit No. 162", "Exhibit Number one sixty-two"),
        ("He said no. Then no more.", "He said no. Then no more."),  # "No." is "number" only before a number
        ("He said no. One day he came.", "He said no. One day he came."),
        ("Nos. 3 and 4", "Numbers three and four"),
        ("serial C2766", "serial C two seven six six"),
        ("175, 240, and 265 feet", "one hundred seventy-five, two hundred forty, and two hundred sixty-five feet"),
        ("Henry VIII and Chapter XII", "Henry the eighth and Chapter twelve"),
        ("George III. died", "George the third. died"),
        ("Recently I saw it", "Recently I saw it"),
        ("Agent John D. Ready and George C. Marshall", "Agent John D. Ready and George C. Marshall"),
        ("Mr. and Mrs. Smith, Dr. Jones", "Mister and Misess Smith, Doctor Jones"),
        ("St. Paul lives on Elm St.", "Saint Paul lives on Elm Street"),
        ("Smith & Wesson", "Smith and Wesson"),
        ("“Quoted” — said he’s", "\"Quoted\" -- said he's"),
        ("café naïve", "cafe naive"),
    ],
)
def test_normalize_english_examples(raw: str, expected: str) -> None:
    assert normalize_english(raw) == expected


def test_normalize_keeps_one_line() -> None:
    assert normalize_english("a\u2028b\nc\t d") == "a b c d"
    assert normalize_english("   ") == ""


def test_random_text_never_breaks() -> None:
    """Deterministic fuzz: any mix of digits, symbols and letters gives one line of text."""
    rng = random.Random(0)
    alphabet = "0123456789 .,:;$£%&-'\"()/IVXLCMDabcxyzMr.St.Jan.stndrdth\u2014\u00e9\u2028\t"
    for _ in range(300):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        out = normalize_english(raw)
        assert "\n" not in out and out == out.strip()


def test_roman_to_int() -> None:
    assert [roman_to_int(r) for r in ("I", "IV", "IX", "XII", "XLII", "MCMLXIII")] == [1, 4, 9, 12, 42, 1963]


def test_canonical_words_ignores_case_and_punctuation() -> None:
    assert canonical_words("Forty-two, Howard's \"Bible\"!") == ["forty", "two", "howards", "bible"]


def test_clean_punctuation() -> None:
    assert clean_punctuation("‘a’  –  b") == "'a' -- b"


@pytest.mark.parametrize(
    "raw, expected",
    [
        # Commas that are not thousands separators separate numbers; nothing is lost.
        ("1,2,3,4,5,6,7,8", "one, two, three, four, five, six, seven, eight"),
        ("(1,2) and 1,000,000", "(one, two) and one million"),
        ("1,234,5", "one, two hundred thirty-four, five"),
        ("5%,6%", "five percent,six percent"),
        ("1st,2nd", "first,second"),
        ("2.7.1", "two point seven point one"),
        # Money: cents without dollars, more decimals than cents.
        ("$.50", "fifty cents"),
        ("$0.99 or $1.00", "ninety-nine cents or one dollar"),
        ("$0.001", "zero point zero zero one dollars"),
        ("-$3", "minus three dollars"),
        # Scientific notation is read, never evaluated as a float.
        ("1e308", "one times ten to the power of three hundred eight"),
        ("6.02E23 atoms", "six point zero two times ten to the power of twenty-three atoms"),
        ("1e-9", "one times ten to the power of minus nine"),
        # Signs, fractions, powers; numbers never glue to letters.
        ("-5 degrees, \u22122.5", "minus five degrees, minus two point five"),
        ("3½ cups, ¾ mile, 2⅔, ⅛", "three and a half cups, three quarters mile, two and two thirds, one eighth"),
        ("10³ or 10km", "ten cubed or ten km"),
        # Malformed Roman numerals stay letters; valid ones are read.
        ("Henry IIII and Chapter MMMM", "Henry IIII and Chapter MMMM"),
        ("Chapter MMM, Henry IV.", "Chapter three thousand, Henry the fourth."),
        # Terminal escape sequences are removed whole, invisible characters dropped.
        ("\x1b[31mred\x1b[0m alert", "red alert"),
        ("\x1b]0;title\x07Hi \x1b[1;32mthere", "Hi there"),
        ("co\u00adoperate\u200b", "cooperate"),
        # Numbers longer than a cardinal are read digit by digit.
        ("the 12345678901234567th", "the one two three four five six seven eight nine zero one two three four five six seventh"),
        ("1,000,000,000,000,000", "one " + "zero " * 14 + "zero"),
    ],
)
def test_hostile_numbers_and_symbols(raw: str, expected: str) -> None:
    assert normalize_english(raw) == expected


def test_long_digit_string_is_read_digit_by_digit() -> None:
    assert normalize_english("7" * 5000) == " ".join(["seven"] * 5000)
    assert normalize_english("1" + "0" * 5000) == " ".join(["one"] + ["zero"] * 5000)
