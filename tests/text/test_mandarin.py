from __future__ import annotations

import pytest

from speechtools.text.chinese_numbers import cardinal_zh, decimal_zh, digits_zh
from speechtools.text.mandarin import apply_tone_sandhi, mandarin_phones, merge_erhua, normalize_mandarin, _syllables


@pytest.mark.parametrize(
    "n, text",
    [(0, "零"), (10, "十"), (12, "十二"), (20, "二十"), (105, "一百零五"), (110, "一百一十"), (1005, "一千零五"),
     (2000, "两千"), (20000, "两万"), (100010, "十万零一十"), (123456789, "一亿二千三百四十五万六千七百八十九")],
)
def test_cardinal_zh(n: int, text: str) -> None:
    assert cardinal_zh(n) == text


def test_digits_and_decimals() -> None:
    assert digits_zh("2021") == "二零二一"
    assert digits_zh("110", yao=True) == "幺幺零"
    assert decimal_zh("3.14") == "三点一四"
    assert decimal_zh("0.5") == "零点五"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2021年3月5日", "二零二一年三月五日"),
        ("2021-03-05出发", "二零二一年三月五日出发"),
        ("每天10-20个", "每天十到二十个"),
        ("增长了50%", "增长了百分之五十"),
        ("增长了12.5%", "增长了百分之十二点五"),
        ("圆周率约3.14", "圆周率约三点一四"),
        ("气温-5度", "气温负五度"),
        ("电话13800138000", "电话一三八零零一三八零零零"),
        ("010-12345678", "零一零一二三四五六七八"),
        ("共105个", "共一百零五个"),
        ("现在12:30", "现在十二点三十分"),
        ("我用iPhone打电话", "我用I P H O N E打电话"),
        ("２０２１年", "二零二一年"),
        ("他说：“你好！”", "他说：你好！"),
    ],
)
def test_normalize_mandarin(raw: str, expected: str) -> None:
    assert normalize_mandarin(raw) == expected


def test_yao_for_phone_numbers() -> None:
    assert normalize_mandarin("拨打110", yao=True) == "拨打幺幺零"
    assert normalize_mandarin("拨打13812345678", yao=True) == "拨打幺三八幺二三四五六七八"
    assert normalize_mandarin("房间号码是305") == "房间号码是三零五"
    assert normalize_mandarin("买了305个") == "买了三百零五个"


def _tones(text: str) -> str:
    return " ".join(f"{s.char}{s.tone}" for s in apply_tone_sandhi(_syllables(text)))


@pytest.mark.parametrize(
    "text, tones",
    [
        ("你好", "你2 好3"),
        ("我很好", "我2 很2 好3"),
        ("展览馆", "展2 览2 馆3"),
        ("一个", "一2 个4"),
        ("一天", "一4 天1"),
        ("一起", "一4 起3"),
        ("一年", "一4 年2"),
        ("第一", "第4 一1"),
        ("十一", "十2 一1"),
        ("一九八四", "一1 九3 八1 四4"),
        ("看一看", "看4 一5 看4"),
        ("不是", "不2 是4"),
        ("不好", "不4 好3"),
        ("不来", "不4 来2"),
        ("好不好", "好3 不5 好3"),
    ],
)
def test_tone_sandhi(text: str, tones: str) -> None:
    assert _tones(text) == tones


def test_erhua() -> None:
    merged = merge_erhua(apply_tone_sandhi(_syllables("花儿开了")))
    assert [s.char for s in merged] == ["花儿", "开", "了"]
    assert merged[0].phones() == ["h", "uar1"]
    assert [s.char for s in merge_erhua(_syllables("女儿"))] == ["女", "儿"]
    assert [s.char for s in merge_erhua(_syllables("儿子"))] == ["儿", "子"]


def test_mandarin_phones() -> None:
    assert mandarin_phones("我很好。") == ["uo2", "h", "en2", "h", "ao3", "."]
    assert mandarin_phones("你好，世界！") == ["n", "i2", "h", "ao3", ",", "sh", "i4", "j", "ie4", "!"]
    assert mandarin_phones("一点儿") == ["i4", "d", "ianr3"]
    assert mandarin_phones("A股") == ["A", "g", "u3"]
    assert mandarin_phones("女儿") == ["n", "v3", "er2"]
    assert mandarin_phones("。，“”") == []


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1,234,567.89", "一百二十三万四千五百六十七点八九"),
        ("１，２３４元", "一千二百三十四元"),
        ("-1,234和10-1,000", "负一千二百三十四和十到一千"),
        ("1,2,3", "一,二,三"),  # not thousands groups: a list
        ("价格是$1,299.99", "价格是一千二百九十九点九九美元"),
        ("$5、￥100、€20、£3", "五美元、一百元、二十欧元、三英镑"),
        ("美元符号$", "美元符号美元"),
        ("3½杯", "三又二分之一杯"),
        ("\x1b[1m你好\x1b[0m", "你好"),
        ("1" * 20 + ".5", "一" * 20 + "点五"),  # longer than a cardinal: digit by digit
    ],
)
def test_normalize_mandarin_hostile(raw: str, expected: str) -> None:
    assert normalize_mandarin(raw) == expected


def test_long_numbers_never_convert_to_int() -> None:
    from speechtools.text.chinese_numbers import MAX_CARDINAL_DIGITS_ZH, integer_zh

    assert integer_zh("1" + "0" * (MAX_CARDINAL_DIGITS_ZH - 1)) == "一千万亿"
    assert integer_zh("1" + "0" * MAX_CARDINAL_DIGITS_ZH) == "一" + "零" * MAX_CARDINAL_DIGITS_ZH
    assert normalize_mandarin("5" * 10000) == "五" * 10000
