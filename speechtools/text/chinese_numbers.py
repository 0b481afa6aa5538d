"""Reading Arabic numerals in Mandarin: cardinals, digit strings, decimals.

Standard reading of the number system (four-digit groups 万/亿, 零 for skipped places,
leading 一十 read as 十, 两 for a leading 2 before 千/万/亿). Numbers read from text go through
:func:`integer_zh` / :func:`decimal_zh` as digit strings: more than
:data:`MAX_CARDINAL_DIGITS_ZH` digits are read digit by digit, never converted to an ``int``,
so any length costs linear time.
"""

from __future__ import annotations

DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ("", "十", "百", "千")
_BIG_UNITS = ("", "万", "亿", "万亿")
# The longest number read as a cardinal (below 一亿亿 = 10^16); longer ones digit by digit.
MAX_CARDINAL_DIGITS_ZH = 16


def _four_digits(n: int) -> str:
    """0 < n < 10000 with 零 for internal zeros ("一千零五")."""
    out = []
    pending_zero = False
    for place in range(3, -1, -1):
        d = n // 10**place % 10
        if d == 0:
            if out:
                pending_zero = True
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(DIGITS[d] + _SMALL_UNITS[place])
    return "".join(out)


def cardinal_zh(n: int) -> str:
    """Read a non-negative integer in Mandarin (12 "十二", 1005 "一千零五", 20000 "两万")."""
    if n == 0:
        return "零"
    if n < 0:
        return "负" + cardinal_zh(-n)
    if n >= 10**MAX_CARDINAL_DIGITS_ZH:
        return digits_zh(str(n))
    groups = []
    while n:
        n, g = divmod(n, 10000)
        groups.append(g)
    out = ""
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        g = groups[index]
        if g == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or g < 1000):
            out += "零"
        out += _four_digits(g) + _BIG_UNITS[index]
        need_zero = False
    if out.startswith("一十"):
        out = out[1:]
    if out.startswith("二") and len(out) > 1 and out[1] in "千万亿":
        out = "两" + out[1:]
    return out


def digits_zh(text: str, yao: bool = False) -> str:
    """Read digits one by one ("2021" "二零二一"); ``yao`` reads 1 as 幺 (phone numbers)."""
    table = DIGITS.replace("一", "幺") if yao else DIGITS
    return "".join(table[int(c)] for c in text if c.isdecimal())


def integer_zh(text: str) -> str:
    """Read a digit string (grouping commas allowed) as a cardinal ("1,005" "一千零五"); more
    than :data:`MAX_CARDINAL_DIGITS_ZH` digits are read digit by digit."""
    plain = text.replace(",", "")
    if len(plain) > MAX_CARDINAL_DIGITS_ZH:
        return digits_zh(plain)
    return cardinal_zh(int(plain))


def decimal_zh(text: str) -> str:
    """Read a decimal number ("3.14" "三点一四", "0.5" "零点五", "1,234.5" "一千二百三十四点五")."""
    whole, _, frac = text.partition(".")
    head = integer_zh(whole) if whole else "零"
    return head + ("点" + digits_zh(frac) if frac else "")


def fraction_zh(numerator: int, denominator: int) -> str:
    """Read a fraction ("二分之一", "四分之三")."""
    return f"{cardinal_zh(denominator)}分之{cardinal_zh(numerator)}"
