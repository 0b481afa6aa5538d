"""DeepRapper representations: rhyme classes (worked examples), lyrics format, reverse-order sequences, data prep."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from speechtools.errors import UserError
from speechtools.music.lyrics import (
    BEAT, BOS, EOS, SEP, SPECIALS, Line, Song, build_vocab, decode_sequence, encode_song, format_songs, parse_line,
    read_ci_json, read_lyrics,
)
from speechtools.music.lyrics_prep import prepare_lyrics
from speechtools.music.rhyme import (
    MANDARIN_CLASSES, MANDARIN_FINAL_CLASS, UNK_RHYME, EnglishRhymes, MandarinFinals, english_rhyme_of_pronunciation,
    get_rhyme_scheme, mandarin_final_class,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "music" / "lyrics"


def test_mandarin_class_table_is_the_reference_16_plus_unk() -> None:
    assert len(MANDARIN_FINAL_CLASS) == 25
    assert sorted(set(MANDARIN_FINAL_CLASS.values())) == sorted(MANDARIN_CLASSES)
    assert len(MANDARIN_CLASSES) == 16


@pytest.mark.parametrize("final, cls", [
    ("uo", "o"), ("uan", "an"), ("iang", "ang"), ("ia", "a"), ("iong", "ong"), ("van", "an"), ("uai", "ai"),
    ("v", "i"), ("ui", "ei"), ("iu", "ou"), ("ve", "ie"), ("eng", "en"), ("un", "en"), ("vn", "in"), ("ing", "in"),
    ("", UNK_RHYME), ("xyz", UNK_RHYME),
])
def test_mandarin_final_fallbacks(final: str, cls: str) -> None:
    assert mandarin_final_class(final) == cls


@pytest.mark.parametrize("char, cls", [
    ("我", "o"), ("国", "o"), ("关", "an"), ("元", "an"), ("光", "ang"), ("章", "ang"), ("女", "i"), ("雨", "i"),
    ("月", "ie"), ("云", "in"), ("用", "ong"), ("儿", "er"), ("水", "ei"), ("秋", "ou"), ("嗯", UNK_RHYME),
    ("，", None), ("a", None), ("[SEP]", None),
])
def test_mandarin_characters(char: str, cls: object) -> None:
    assert MandarinFinals().rhyme(char) == cls


def test_english_rhymes_worked_examples() -> None:
    en = EnglishRhymes()
    assert en.rhyme("cat") == en.rhyme("hat") == en.rhyme("Cat") == "AE T"
    assert en.rhyme("table") == en.rhyme("able") == "EY B AH L"
    assert en.rhyme("cat") != en.rhyme("table")
    assert en.rhyme("zzyzxqwv") == UNK_RHYME  # not in CMUdict
    assert en.rhyme("42") is None or en.rhyme("42") == UNK_RHYME
    assert en.rhyme("!") is None
    # the last primary stress wins; then secondary; then the last vowel
    assert english_rhyme_of_pronunciation(["K", "AH0", "N", "T", "EY1", "N", "ER0"]) == "EY N ER"
    assert english_rhyme_of_pronunciation(["AH0", "B", "AW2", "T"]) == "AW T"
    assert english_rhyme_of_pronunciation(["DH", "AH0"]) == "AH"
    assert english_rhyme_of_pronunciation(["SH"]) == UNK_RHYME


def test_unknown_language_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown lyrics language"):
        get_rhyme_scheme("fr")


def test_parse_line_beats_tempo_timestamp() -> None:
    line, tempo = parse_line("3_[00:05.10][F][BEAT]夜色[BEAT]城 市", "zh", allow_tempo=True)
    assert tempo == "[F]"
    assert line.tokens == ["夜", "色", "城", "市"] and line.beats == [True, False, True, False]
    line, _ = parse_line("[BEAT]Twinkle, twinkle, [BEAT]little star!", "en")
    assert line.tokens == ["twinkle", "twinkle", "little", "star"] and line.beats == [True, False, True, False]
    for bad, message in [("我[BOOM]你", "unknown tag"), ("我你[BEAT]", "end of the line"), ("我[F]你", "tempo tag")]:
        with pytest.raises(UserError, match=message):
            parse_line(bad, "zh", "f.txt", 7, allow_tempo=True)
    with pytest.raises(UserError, match="f.txt:7"):
        parse_line("[M]我", "zh", "f.txt", 7, allow_tempo=False)


def test_read_lyrics_fixtures_and_format_round_trip(tmp_path: Path) -> None:
    for name, lang in (("beats_zh.txt", "zh"), ("verse_en.txt", "en")):
        songs = read_lyrics(FIXTURES / name, lang)
        assert [len(s.lines) for s in songs] == [5, 5, 5]
        out = tmp_path / name
        out.write_text("\n".join(format_songs(songs, lang)) + "\n", encoding="utf-8")
        again = read_lyrics(out, lang)
        assert [(s.tempo, s.lines) for s in again] == [(s.tempo, s.lines) for s in songs]
    assert read_lyrics(FIXTURES / "beats_zh.txt", "zh")[0].tempo == "[F]"
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(UserError, match="empty"):
        read_lyrics(empty, "zh")


def test_encode_song_layout_local_beats() -> None:
    song = Song([Line(list("城市光"), [True, False, True]), Line(list("篇章"), [False, True])], "[F]")
    enc = encode_song(song, "local")
    assert enc.tokens == [BOS, BEAT, "光", "市", BEAT, "城", SEP, BEAT, "章", "篇", SEP, EOS]
    assert enc.sentence == [0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 0]
    assert enc.position == [0, 0, 1, 2, 0, 3, 0, 0, 1, 2, 0, 0]
    assert enc.beat == [0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 0]
    glob = encode_song(song, "global")
    assert glob.tokens == [BOS, "[F]", "光", "市", "城", SEP, "章", "篇", SEP, EOS] and set(glob.beat) == {0}
    none = encode_song(song, "none")
    assert none.tokens == [BOS, "光", "市", "城", SEP, "章", "篇", SEP, EOS]
    forward = encode_song(song, "none", reverse=False)
    assert forward.tokens == [BOS, "城", "市", "光", SEP, "篇", "章", SEP, EOS]


@pytest.mark.parametrize("mode", ["none", "global", "local"])
def test_reverse_and_restore_is_lossless(mode: str) -> None:
    rng = random.Random(0)
    alphabet = list("天地人你我他山水风云光章") + ["，"]
    for _ in range(50):
        lines = []
        for _ in range(rng.randint(1, 6)):
            n = rng.randint(1, 9)
            lines.append(Line([rng.choice(alphabet) for _ in range(n)], [rng.random() < 0.4 for _ in range(n)]))
        song = Song(lines, rng.choice([None, "[S]", "[M]", "[F]"]))
        for reverse in (True, False):
            restored = decode_sequence(encode_song(song, mode, reverse).tokens, reverse)
            expected = lines if mode == "local" else [Line(l.tokens, [False] * len(l.tokens)) for l in lines]
            assert restored == expected
    # an unfinished (generated) last line is kept, in reading order
    assert decode_sequence([BOS, "光", "市", SEP, "章"]) == [Line(["市", "光"], [False, False]), Line(["章"], [False])]


def test_vocab_specials_first_and_rhyme_ids() -> None:
    songs = read_lyrics(FIXTURES / "beats_zh.txt", "zh")
    scheme = MandarinFinals()
    vocab = build_vocab(songs, scheme, max_tokens=10)
    assert vocab.tokens.tokens[: len(SPECIALS)] == list(SPECIALS) and len(vocab.tokens) == len(SPECIALS) + 10
    assert vocab.rhymes == list(MANDARIN_CLASSES) and vocab.rhyme_count == 18
    assert vocab.rhyme_id(None) == 0 and vocab.rhyme_id(UNK_RHYME) == 1 and vocab.rhyme_id("a") == 2
    ids = vocab.token_rhyme_ids(scheme)
    assert ids[: len(SPECIALS)] == [0] * len(SPECIALS)
    en = build_vocab(read_lyrics(FIXTURES / "verse_en.txt", "en"), EnglishRhymes(), max_rhymes=5)
    assert len(en.rhymes) == 5 and all(" " in r or r.isalpha() for r in en.rhymes)


def test_read_ci_json_fixture() -> None:
    songs = read_ci_json([FIXTURES / "ci.song.0.json"], min_lines=5)
    assert 5 <= len(songs) <= 16
    first = songs[0]
    assert "".join(first.lines[0].tokens) == "气和玉烛，睿化著鸿明"
    assert all(line.tokens and line.tokens[-1] not in "，。、" for s in songs for line in s.lines)


def test_prepare_lyrics_ci_and_beats(tmp_path: Path) -> None:
    counts = prepare_lyrics([str(FIXTURES)], str(tmp_path / "ci"), "ci", "zh", valid=2, test=2, seed=1)
    again = prepare_lyrics([str(FIXTURES / "ci.song.0.json")], str(tmp_path / "ci2"), "ci", "zh", valid=2, test=2, seed=1)
    assert counts == again and counts.valid == 2 and counts.test == 2 and counts.rhymes == 16
    for name in ("train.txt", "valid.txt", "test.txt", "tokens.txt", "rhymes.txt"):
        assert (tmp_path / "ci" / name).read_bytes() == (tmp_path / "ci2" / name).read_bytes()
    test_songs = read_lyrics(tmp_path / "ci" / "test.txt", "zh")
    assert len(test_songs) == 2
    beats = prepare_lyrics([str(FIXTURES / "beats_zh.txt")], str(tmp_path / "zh"), "lyrics", "zh", valid=1, test=1, seed=3)
    assert (beats.train, beats.valid, beats.test) == (1, 1, 1)
    assert "[BEAT]" in (tmp_path / "zh" / "train.txt").read_text(encoding="utf-8")
    with pytest.raises(UserError, match="cannot give"):
        prepare_lyrics([str(FIXTURES / "beats_zh.txt")], str(tmp_path / "x"), "lyrics", "zh", valid=2, test=1, seed=3)
    bad = tmp_path / "ci.song.9.json"
    bad.write_text(json.dumps({"not": "a list"}), encoding="utf-8")
    with pytest.raises(UserError, match="JSON list"):
        prepare_lyrics([str(bad)], str(tmp_path / "y"), "ci", "zh", valid=0, test=0, seed=3)
    assert not (tmp_path / "y").exists()
