from __future__ import annotations

import pytest

from speechtools.text.numbers import cardinal, digits, ordinal, pairs, year


@pytest.mark.parametrize(
    "n, words",
    [
        (0, "zero"), (7, "seven"), (13, "thirteen"), (21, "twenty-one"), (100, "one hundred"),
        (175, "one hundred seventy-five"), (1000, "one thousand"), (10500, "ten thousand five hundred"),
        (2202130462, "two billion two hundred two million one hundred thirty thousand four hundred sixty-two"),
        (-5, "minus five"),
    ],
)
def test_cardinal(n: int, words: str) -> None:
    assert cardinal(n) == words


@pytest.mark.parametrize(
    "n, words",
    [(1, "first"), (2, "second"), (3, "third"), (5, "fifth"), (12, "twelfth"), (20, "twentieth"),
     (21, "twenty-first"), (36, "thirty-sixth"), (100, "one hundredth"), (102, "one hundred second")],
)
def test_ordinal(n: int, words: str) -> None:
    assert ordinal(n) == words


@pytest.mark.parametrize(
    "n, words",
    [(1802, "eighteen oh two"), (1963, "nineteen sixty-three"), (1900, "nineteen hundred"),
     (2000, "two thousand"), (2005, "two thousand five"), (2021, "twenty twenty-one"), (1000, "one thousand")],
)
def test_year(n: int, words: str) -> None:
    assert year(n) == words


def test_pairs_and_digits() -> None:
    assert pairs(484) == "four eighty-four"
    assert pairs(606) == "six oh six"
    assert pairs(500) == "five hundred"
    assert pairs(45) == "forty-five"
    assert digits("2915") == "two nine one five"
    assert digits("0-7") == "zero seven"


def test_number_strings_bound_the_cardinal() -> None:
    from speechtools.text.numbers import MAX_CARDINAL_DIGITS, decimal, fraction, integer, ordinal_text

    assert integer("1,000,000") == "one million"
    assert integer("9" * MAX_CARDINAL_DIGITS).startswith("nine hundred ninety-nine trillion")
    assert integer("1" + "0" * MAX_CARDINAL_DIGITS) == "one" + " zero" * MAX_CARDINAL_DIGITS
    assert integer("5" * 10000) == " ".join(["five"] * 10000)  # no int conversion limit
    assert cardinal(10**20) == "one" + " zero" * 20
    assert decimal(".5") == "point five" and decimal("1,000.25") == "one thousand point two five"
    assert ordinal_text("21") == "twenty-first" and ordinal_text("1" * 20) == "one " * 19 + "first"
    assert [fraction(1, 2), fraction(3, 4), fraction(2, 3), fraction(1, 8)] == ["one half", "three quarters", "two thirds", "one eighth"]
