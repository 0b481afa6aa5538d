"""Mandarin text front-end: normalisation and pinyin initials/finals with tone sandhi.

Normalisation reads numbers in Chinese (dates 2021年3月5日 "二零二一年三月五日", percentages
50% "百分之五十", decimals, phone-number style digit strings digit by digit, optionally with
幺 for 1), spells Latin letters one by one and maps full-width punctuation to pause marks.
G2P uses pypinyin's phrase-aware readings, then applies the tone sandhi rules of Standard
Mandarin (Chen, "Tone Sandhi", 2000; Duanmu, "The Phonology of Standard Chinese", 2007):
third-tone sandhi (3 3 -> 2 3, a run of third tones changing all but the last, within a
phrase between pauses), 一 (yi1; yi2 before tone 4, yi4 before tones 1-3, yi1 in numbers and
ordinals, yi5 between a reduplicated verb) and 不 (bu4; bu2 before tone 4, bu5 in A不A),
and merges erhua 儿 into the preceding final ("花儿" h uar1).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import groupby
from typing import List, Match, Tuple

from speechtools.text.chinese_numbers import cardinal_zh, decimal_zh, digits_zh, fraction_zh, integer_zh
from speechtools.text.cleaning import strip_controls, vulgar_fraction

# Full-width and ASCII punctuation -> the pause token it becomes.
PAUSES = {
    "，": ",", "、": ",", ",": ",", "；": ";", ";": ";", "：": ":", ":": ":", "。": ".", ".": ".",
    "！": "!", "!": "!", "？": "?", "?": "?", "…": ".", "—": ",", "-": ",",
}
NUMERAL_CHARS = set("零〇一二三四五六七八九十百千万亿两幺")
DIGIT_CHARS = set("零〇一二三四五六七八九幺")
# Words whose 儿 is a full syllable (not the erhua suffix).
NOT_ERHUA = {
    "女儿", "婴儿", "幼儿", "孤儿", "健儿", "男儿", "胎儿", "少儿", "患儿", "宠儿", "托儿", "新生儿",
    "儿子", "儿童", "儿女", "儿科", "儿孙", "儿媳", "儿戏", "儿时", "儿歌", "儿化",
}
# Han characters: 〇, the CJK unified ideographs (with extensions A-H) and compatibility
# ideographs. Only those with a pypinyin reading are spoken; the others are reported.
_HAN = r"\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A number as written: thousands grouped with commas or plain digits, optional decimals. Every
# pattern below starts with a look-behind so that it never starts inside a longer number (each
# digit run is scanned once: linear time).
_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# Not inside a number: not after a digit or point, nor after a digit and a comma (1,2 is a list).
_START = r"(?<![\d.])(?<!\d,)"
_END = r"(?![\d.])(?!,\d)"
# Currency symbols (ASCII and full-width) -> the unit read after the amount; a bare symbol is
# read as the unit.
CURRENCIES = {"$": "美元", "＄": "美元", "¥": "元", "￥": "元", "€": "欧元", "£": "英镑", "￡": "英镑"}
_CURRENCY = "[" + "".join(CURRENCIES) + "]"


def has_reading(char: str) -> bool:
    """True for a character pypinyin can read (a Han character in its dictionary).

    pypinyin is imported on first use (here and in :func:`_syllables`): loading its phrase table takes about half a
    second, which every command that merely imports the text front-ends (English synthesis too) would pay.
    """
    from pypinyin.pinyin_dict import pinyin_dict

    return ord(char) in pinyin_dict


def _phone_number(m: Match[str], yao: bool) -> str:
    return digits_zh(m.group(0), yao=yao)


def _fraction(m: Match[str]) -> str:
    parts = vulgar_fraction(m.group(2))
    if parts is None:
        return m.group(0)
    spoken = fraction_zh(*parts)
    return integer_zh(m.group(1)) + "又" + spoken if m.group(1) else spoken


def _money(m: Match[str]) -> str:
    unit = CURRENCIES[m.group(1)]
    return decimal_zh(m.group(2)) + unit if m.group(2) else unit


def normalize_mandarin(text: str, yao: bool = False) -> str:
    """Normalise Mandarin text: numbers to characters, Latin letters spelled one by one
    (upper case, space separated), full-width forms folded, whitespace collapsed.

    Args:
        yao: read the digit 1 as 幺 in digit-by-digit strings (phone numbers), as is usual
            for telephone numbers.
    """
    text = strip_controls(text)
    text = re.sub(r"[０-９Ａ-Ｚａ-ｚ％　]", lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    text = " ".join(text.split())  # runs of spaces would make the look-around patterns below quadratic
    text = re.sub(r"(?<=\d)[．：，](?=\d)", lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    # Vulgar fractions: 3½ -> 三又二分之一, ½ -> 二分之一.
    text = re.sub(r"(?<![\d.])(\d*)([\u00bc-\u00be\u2150-\u215f\u2189])", _fraction, text)
    # ISO dates 2021-03-05 -> 2021年3月5日; then years digit by digit, months and days as numbers.
    text = re.sub(r"(?<!\d)(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?!\d)", lambda m: f"{m.group(1)}年{int(m.group(2))}月{int(m.group(3))}日", text)
    text = re.sub(r"(?<!\d)(\d{2,4})年", lambda m: digits_zh(m.group(1)) + "年", text)
    text = re.sub(r"(?<!\d)(\d{1,2})(月|日|号)", lambda m: cardinal_zh(int(m.group(1))) + m.group(2), text)
    # Times 12:30 -> 十二点三十分.
    text = re.sub(
        r"(?<!\d)(\d{1,2}):(\d{2})(?!\d)",
        lambda m: cardinal_zh(int(m.group(1))) + "点" + (cardinal_zh(int(m.group(2))) + "分" if int(m.group(2)) else "整"),
        text,
    )
    # Percentages and money: 50% -> 百分之五十, $5 -> 五美元, a bare $ -> 美元.
    text = re.sub(rf"{_START}({_NUM})%", lambda m: "百分之" + decimal_zh(m.group(1)), text)
    text = re.sub(rf"({_CURRENCY})\s?(?:({_NUM}){_END})?", _money, text)
    # Phone-number style strings: 7+ digits, digits joined by hyphens, a leading 0, or a number
    # after 电话/号码/拨打/... (codes, room numbers): digit by digit.
    text = re.sub(rf"{_START}\d{{3,4}}(?:-\d{{3,8}})+{_END}", lambda m: _phone_number(m, yao), text)
    text = re.sub(rf"{_START}(?:\d{{7,}}|0\d+){_END}", lambda m: _phone_number(m, yao), text)
    text = re.sub(
        rf"((?:电话|号码|拨打|热线|手机|致电|编号|房间|尾号)[是为：:]?)(\d{{3,}}){_END}",
        lambda m: m.group(1) + digits_zh(m.group(2), yao=yao),
        text,
    )
    # Thousands separators dropped (1,234,567.89 is then read 一百二十三万四千五百六十七点八九); a
    # comma not followed by exactly three digits separates a list: 1,2,3 stays 一,二,三.
    text = re.sub(rf"{_START}\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?{_END}", lambda m: m.group(0).replace(",", ""), text)
    # Ranges 10-20 -> 十到二十.
    text = re.sub(r"(?<![\d.])(\d+(?:\.\d+)?)[-~～](\d+(?:\.\d+)?)(?![\d.])", lambda m: decimal_zh(m.group(1)) + "到" + decimal_zh(m.group(2)), text)
    # Negative numbers, decimals and other integers.
    text = re.sub(r"(?<![\d.])-(\d+(?:\.\d+)?)", lambda m: "负" + decimal_zh(m.group(1)), text)
    text = re.sub(r"(?<![\d.])\d+\.\d+", lambda m: decimal_zh(m.group(0)), text)
    text = re.sub(r"\d+", lambda m: integer_zh(m.group(0)), text)
    # Latin letters spelled out.
    text = re.sub(r"[A-Za-z]+", lambda m: " " + " ".join(m.group(0).upper()) + " ", text)
    text = re.sub(r"[“”\"'‘’《》「」『』（）()\[\]【】]", "", text)
    text = re.sub(rf"\s+(?=[{_HAN}，。！？、；：])|(?<=[{_HAN}，。！？、；：])\s+", "", text)
    return " ".join(text.split())


@dataclass
class Syllable:
    """One Han character's reading: initial ("" for zero-initial), final, tone 1-5."""

    char: str
    initial: str
    final: str
    tone: int

    def phones(self) -> List[str]:
        return ([self.initial] if self.initial else []) + [f"{self.final}{self.tone}"]


def _syllables(run: str) -> List[Syllable]:
    from pypinyin import Style, lazy_pinyin

    initials = lazy_pinyin(run, style=Style.INITIALS, strict=True)
    finals = lazy_pinyin(run, style=Style.FINALS_TONE3, strict=True, neutral_tone_with_five=True)
    whole = lazy_pinyin(run, style=Style.TONE3, neutral_tone_with_five=True)
    out = []
    for char, ini, fin, syllable in zip(run, initials, finals, whole):
        if not fin.rstrip("12345"):
            fin = syllable  # syllabic nasals (呣 m2, 嗯 n2) have no initial/final split
        tone = int(fin[-1]) if fin and fin[-1].isdigit() else 5
        out.append(Syllable(char, ini, fin.rstrip("12345"), tone))
    return out


def apply_tone_sandhi(sylls: List[Syllable]) -> List[Syllable]:
    """Tone sandhi of 一, 不 and third tones in one phrase (between pauses), in place.

    一 and 不 are first reset to their citation tones (pypinyin's phrase table sometimes
    pre-applies sandhi), then: 一 -> 1 after/before a digit or after 第, 5 between a
    reduplicated syllable (看一看), 2 before tone 4, 4 before tones 1-3, 1 at phrase end;
    不 -> 5 in A不A, 2 before tone 4; then each run of third tones becomes 2 ... 2 3.
    """
    for s in sylls:
        if s.char == "一":
            s.tone = 1
        elif s.char == "不":
            s.tone = 4
    for i, s in enumerate(sylls):
        prev = sylls[i - 1] if i > 0 else None
        nxt = sylls[i + 1] if i + 1 < len(sylls) else None
        if s.char == "一":
            if prev is not None and (prev.char in NUMERAL_CHARS or prev.char == "第"):
                s.tone = 1
            elif nxt is not None and nxt.char in DIGIT_CHARS:
                s.tone = 1
            elif prev is not None and nxt is not None and prev.char == nxt.char:
                s.tone = 5
            elif nxt is None:
                s.tone = 1
            else:
                s.tone = 2 if nxt.tone == 4 else 4
        elif s.char == "不" and nxt is not None:
            if prev is not None and prev.char == nxt.char:
                s.tone = 5
            elif nxt.tone == 4:
                s.tone = 2
    for i in range(len(sylls) - 2, -1, -1):
        if sylls[i].tone == 3 and sylls[i + 1].tone == 3:
            j = i
            while j >= 0 and sylls[j].tone == 3:
                j -= 1
            for k in range(j + 1, i + 1):
                sylls[k].tone = 2
    return sylls


def merge_erhua(sylls: List[Syllable]) -> List[Syllable]:
    """Merge a suffix 儿 into the previous syllable's final ("hua1" + "er2" -> "huar1"), except
    in words where 儿 is a full syllable (女儿, 儿子, ...) or at the start of a phrase."""
    out: List[Syllable] = []
    for i, s in enumerate(sylls):
        nxt = sylls[i + 1].char if i + 1 < len(sylls) else ""
        if s.char == "儿" and out and (out[-1].char + "儿") not in NOT_ERHUA and ("儿" + nxt) not in NOT_ERHUA and out[-1].final != "er":
            prev = out[-1]
            out[-1] = Syllable(prev.char + "儿", prev.initial, prev.final + "r", prev.tone)
        else:
            out.append(s)
    return out


def mandarin_phones(text: str, yao: bool = False) -> List[str]:
    """Phone tokens of Mandarin text: normalised, then pinyin initials and tonal finals per
    syllable (after sandhi and erhua), punctuation as pause tokens, Latin letters as
    themselves (upper case); other symbols and Han characters without a known reading are
    dropped (:func:`mandarin_dropped` names them)."""
    tokens: List[str] = []
    for kind, piece in _chunks(normalize_mandarin(text, yao=yao)):
        if kind == "unread":
            continue
        if kind == "han":
            for syl in merge_erhua(apply_tone_sandhi(_syllables(piece))):
                tokens += syl.phones()
        elif kind == "pause":
            if tokens and tokens[-1] not in PAUSES.values():
                tokens.append(PAUSES[piece])
        else:
            tokens.append(piece)
    while tokens and tokens[0] in PAUSES.values():
        tokens.pop(0)
    return tokens


def mandarin_inventory() -> List[str]:
    """Every phone :func:`mandarin_phones` can emit: the initials and the finals (also with
    erhua ``r``) in pypinyin's dictionary, syllabic nasals, each final with tones 1-5, then pause
    marks and the letters A-Z."""
    from pypinyin import Style
    from pypinyin.pinyin_dict import pinyin_dict
    from pypinyin.style import convert

    initials, finals = set(), set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            initials.add(convert(reading, Style.INITIALS, strict=True))
            final = convert(reading, Style.FINALS, strict=True)
            finals.add(final or convert(reading, Style.NORMAL, strict=True))
    rhotic = {f + "r" for f in finals if f != "er"}
    tonal = [f"{f}{tone}" for f in sorted(finals | rhotic) for tone in range(1, 6)]
    pauses = sorted(set(PAUSES.values()))
    return sorted(i for i in initials if i) + tonal + pauses + [chr(c) for c in range(ord("A"), ord("Z") + 1)]


_CHUNK = re.compile(rf"[{_HAN}]+|[A-Z]|[{re.escape(''.join(PAUSES))}]")


def _chunks(text: str) -> List[Tuple[str, str]]:
    """``("han", run)``, ``("letter", L)``, ``("pause", mark)`` and ``("unread", run)`` (Han
    characters without a reading) pieces of normalised text."""
    out: List[Tuple[str, str]] = []
    for m in _CHUNK.finditer(text):
        piece = m.group(0)
        if piece.isascii():
            out.append(("letter" if piece.isalpha() else "pause", piece))
        elif piece in PAUSES:
            out.append(("pause", piece))
        else:
            out += [("han" if readable else "unread", "".join(run)) for readable, run in groupby(piece, key=has_reading)]
    return out


def mandarin_dropped(normalized: str) -> List[str]:
    """The characters of normalised text that :func:`mandarin_phones` drops without reading them."""
    dropped = [c for c in _CHUNK.sub(" ", normalized) if not c.isspace()]
    return dropped + [c for kind, piece in _chunks(normalized) if kind == "unread" for c in piece]
