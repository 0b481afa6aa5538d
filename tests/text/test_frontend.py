from __future__ import annotations

from pathlib import Path

import pytest

from speechtools.errors import UserError
from speechtools.text.frontend import WORD_BOUNDARY, english_items, get_frontend

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "text"


@pytest.fixture(scope="module")
def en_phone():  # type: ignore[no-untyped-def]
    return get_frontend("en_phone", use_pos_tagger=False)


def test_en_phone_words_boundaries_and_pauses(en_phone) -> None:  # type: ignore[no-untyped-def]
    assert en_phone.tokenize("Hello, world.") == ["HH", "AH0", "L", "OW1", ",", "W", "ER1", "L", "D", "."]
    assert en_phone.tokenize("Read 3 books!") == [
        "R", "EH1", "D", WORD_BOUNDARY, "TH", "R", "IY1", WORD_BOUNDARY, "B", "UH1", "K", "S", "!",
    ]


def test_en_phone_normalizes_first(en_phone) -> None:  # type: ignore[no-untyped-def]
    assert en_phone.normalize("Dr. Who") == "Doctor Who"
    assert en_phone.tokenize("Dr. Who")[:6] == ["D", "AA1", "K", "T", "ER0", WORD_BOUNDARY]


def test_empty_text_gives_no_tokens(en_phone) -> None:  # type: ignore[no-untyped-def]
    for name in ("en_char", "zh_phone"):
        assert get_frontend(name).tokenize("  ...  ") == []
    assert en_phone.tokenize('"..." -- ') == []
    assert en_phone.tokenize("") == []


def test_en_char() -> None:
    front = get_frontend("en_char")
    assert front.tokenize("It's 2 p.m.") == ["i", "t", "'", "s", WORD_BOUNDARY, "t", "w", "o", WORD_BOUNDARY, "p", "m"]
    assert front.tokenize("Yes -- no (maybe)") == [
        "y", "e", "s", ",", "n", "o", ",", "m", "a", "y", "b", "e", ",",
    ]


def test_zh_phone() -> None:
    front = get_frontend("zh_phone")
    assert front.normalize("3月5日") == "三月五日"
    assert front.tokenize("你好。") == ["n", "i2", "h", "ao3", "."]
    assert get_frontend("zh_phone", yao=True).normalize("拨打110") == "拨打幺幺零"


def test_english_items_collapse_punctuation() -> None:
    assert english_items("?! Hi?! there (x)") == [
        ("word", "Hi"), ("pause", "?"), ("word", "there"), ("pause", ","), ("word", "x"), ("pause", ","),
    ]


def test_unknown_frontend_and_option() -> None:
    with pytest.raises(UserError, match="unknown text front-end 'fr_phone'; known: en_char, en_phone, zh_phone"):
        get_frontend("fr_phone")
    with pytest.raises(UserError, match="bad option"):
        get_frontend("en_char", yao=True)


def test_inventory_covers_tokens(en_phone) -> None:  # type: ignore[no-untyped-def]
    sample = (FIXTURES / "ljspeech_normalization_sample.csv").read_text(encoding="utf-8").splitlines()
    for name, front in (("en_phone", en_phone), ("en_char", get_frontend("en_char"))):
        inventory = front.inventory()
        assert len(set(inventory)) == len(inventory)
        seen = {t for line in sample[:30] for t in front.tokenize(line.split("|")[1])}
        assert seen <= set(inventory), (name, seen - set(inventory))
    zh = get_frontend("zh_phone")
    zh_seen = set(zh.tokenize("2021年3月5日，花儿开了！嗯，我用iPhone打电话：13800138000？一点儿也不难。"))
    assert zh_seen <= set(zh.inventory())
    assert {"uar1", "ianr3", "n2", "A", "zh", "?"} <= set(zh.inventory())


def test_unspeakable_characters_are_named_with_their_column(en_phone) -> None:  # type: ignore[no-untyped-def]
    found = en_phone.unspeakable("Hi Привет ★★ well-known \"x\" a/b")
    assert [(u.char, u.count, u.column) for u in found] == [
        ("П", 1, 4), ("р", 1, 5), ("и", 1, 6), ("в", 1, 7), ("е", 1, 8), ("т", 1, 9), ("★", 2, 11),
    ]
    assert en_phone.tokenize("Hi Привет") == en_phone.tokenize("Hi")  # dropped, and now reported
    assert get_frontend("en_char").unspeakable("straße $ ok") == en_phone.unspeakable("straße $ ok")
    assert [u.char for u in en_phone.unspeakable("straße $ ok")] == ["ß", "$"]
    assert en_phone.unspeakable("Dr. Smith paid $3.50 (¾ of it) -- 10km, 1,2,3.") == []


def test_unspeakable_mandarin_includes_han_without_reading() -> None:
    front = get_frontend("zh_phone")
    assert front.tokenize("好兙好") == ["h", "ao3", "h", "ao3"]  # no garbage token "兙5"
    assert [(u.char, u.column) for u in front.unspeakable("好兙好😀")] == [("兙", 2), ("😀", 4)]
    assert front.unspeakable("我用iPhone打电话，$5、“好”（吗）") == []
    assert front.tokenize("\U00020000") == ["h", "e1"]  # extension B characters with a reading are spoken
