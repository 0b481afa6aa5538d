"""SongMASS data: extraction from a hand-made score, normalisation, the Lakh .npy format, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from speechtools.cli.main import main
from speechtools.music import lyric_melody as L
from speechtools.music.lyric_sources import song_from_lmd, songs_from_score

music21 = pytest.importorskip("music21")


def note(pitch: str, beats: float, lyric: str = "", syllabic: str = "single", tie: str = "", fermata: bool = False):
    n = music21.note.Note(pitch, quarterLength=beats)
    if lyric:
        n.lyrics.append(music21.note.Lyric(text=lyric, syllabic=syllabic, number=1))
    if tie:
        n.tie = music21.tie.Tie(tie)
    if fermata:
        n.expressions.append(music21.expressions.Fermata())
    return n


def hand_made_score(path: Path) -> Path:
    """3/4 with a one-beat pickup; 'Hel-lo,' / rest 'sing Glo-(melisma)-ri-a(tied, fermata)' / rest 'Amen.'

    A piano part carries figured-bass digits on more notes than the voice has lyrics.
    """
    voice = music21.stream.Part(id="voice")
    voice.partName = "Voice"
    bars = [
        [note("E4", 1, "Hel", "begin")],
        [note("G4", 1, "lo,", "end"), music21.note.Rest(quarterLength=1), note("C4", 1, "sing")],
        [note("D4", 1, "Glo", "begin"), note("E4", 0.5), note("F4", 0.5), note("F4", 1, "ri", "middle")],
        [note("G4", 3, "a", "end", tie="start")],
        [note("G4", 1, tie="stop", fermata=True), music21.note.Rest(quarterLength=1), note("A4", 1, "A", "begin")],
        [note("A4", 1, "men.", "end"), music21.note.Rest(quarterLength=2)],
    ]
    piano = music21.stream.Part(id="piano")
    piano.partName = "Piano"
    for k, content in enumerate(bars):
        m = music21.stream.Measure(number=k)
        if k == 0:
            m.append(music21.meter.TimeSignature("3/4"))
            m.paddingLeft = 2.0
        for element in content:
            m.append(element)
        voice.append(m)
        pm = music21.stream.Measure(number=k)
        beats = 1 if k == 0 else 3
        for _ in range(beats):
            pm.append(note("C3", 1, "6"))
        piano.append(pm)
    score = music21.stream.Score([voice, piano])
    out = path / "hand.musicxml"
    score.write("musicxml", fp=str(out))
    return out


def test_hand_made_score_gives_expected_triples_and_tokens(tmp_path):
    song, melody = songs_from_score(hand_made_score(tmp_path), "hand")
    assert melody is None and song is not None
    words = [[[(s.text, [(n.pitch, n.duration, n.rest) for n in s.notes]) for s in w] for w in sent] for sent in song.sentences]
    assert words[0] == [[("hel", [(64, 1.0, 0.0)]), ("lo", [(67, 1.0, 0.0)])]]
    assert words[1] == [[("sing", [(60, 1.0, 1.0)])],
                        [("glo", [(62, 1.0, 0.0), (64, 0.5, 0.0), (65, 0.5, 0.0)]), ("ri", [(65, 1.0, 0.0)]), ("a", [(67, 4.0, 0.0)])]]
    assert words[2] == [[("a", [(69, 1.0, 1.0)]), ("men", [(69, 1.0, 0.0)])]]
    assert len(words) == 3
    norm = L.normalise_song(song)
    assert norm.notes() == song.notes()  # already C major in octave 5
    assert " ".join(L.lyric_tokens(norm)) == "hel lo [align] [sep] sing [align] glo ri a [align] [sep] a men [align] [sep]"
    assert " ".join(L.melody_tokens(norm)) == (
        "64 132 67 132 [align] [sep] 128 132 60 132 [align] 62 132 64 130 65 130 65 132 67 144 [align] [sep] "
        "128 132 69 132 69 132 [align] [sep]")


def test_score_without_lyrics_is_an_unpaired_melody(tmp_path):
    score = music21.stream.Score()
    for name, pitch in (("Bass", "C3"), ("Soprano", "E4")):
        part = music21.stream.Part()
        part.partName = name
        part.append([note(pitch, 1), note(pitch, 1, fermata=True), note("G4", 2)])
        score.insert(0, part)
    path = tmp_path / "plain.musicxml"
    score.write("musicxml", fp=str(path))
    song, melody = songs_from_score(path, "plain")
    assert song is None
    assert [[n.pitch for w in s for syl in w for n in syl.notes] for s in melody.sentences] == [[64, 64], [67]]


def test_abc_tune_without_lyrics_is_collected_as_an_unpaired_melody(tmp_path):
    from speechtools.music.lyric_dataset import collect

    (tmp_path / "tune.abc").write_text("X:1\nT:Made-up reel\nM:4/4\nL:1/4\nK:C\nC D E F | G2 z G | c4 |]\n")
    collected = collect([str(tmp_path)])
    assert collected.songs == [] and collected.skipped == [] and len(collected.melodies) == 1
    notes = [(n.pitch, n.duration, n.rest) for n in collected.melodies[0].notes()]
    assert notes == [(60, 1.0, 0.0), (62, 1.0, 0.0), (64, 1.0, 0.0), (65, 1.0, 0.0), (67, 2.0, 0.0), (67, 1.0, 1.0), (72, 4.0, 0.0)]


def test_normalisation_transposes_to_c_major_octave_5_and_quantises():
    g_major = [67, 69, 71, 72, 74, 76, 78]
    # E natural minor has the same pitches and its tonic comes first (the reference's tie rule) -> A minor.
    assert L.best_scale(g_major) == (4, "natural_minor")
    out = L.normalise_notes([L.Note(p, 1.0) for p in g_major])
    assert [n.pitch for n in out] == [60, 62, 64, 65, 67, 69, 71]  # +5, then octave 6 folded to 5
    assert [n.pitch for n in L.normalise_notes([L.Note(p, 1.0) for p in (64, 66, 67, 71, 72)])] == [57, 59, 60, 64, 65]
    assert [n.pitch for n in L.normalise_notes([L.Note(p, 1.0) for p in (62, 64, 66, 67, 69, 71, 73)])] == [60, 62, 64, 65, 67, 69, 71]
    timed = L.normalise_notes([L.Note(60, d, r) for d, r in [(1.1, 0.0), (0.124, 0.1), (0.375, 0.125), (9.0, 0.625)]])
    assert [n.duration for n in timed] == [1.0, 0.25, 0.5, 4.0]  # 0.124 -> 0 -> shortest; 1.5 steps -> 2 (half to even); cap 4
    assert [n.rest for n in timed] == [0.0, 0.0, 0.0, 0.5]       # 0.1 -> 0; 0.5 step -> 0 and 2.5 steps -> 2 (half to even)


def test_repeat_filter_and_split_are_fixed():
    run = L.Song("s", [[[L.Syllable("a", [L.Note(60, 1.0)] * 6)]]])
    assert "identical" in L.rejection(run)
    assert L.rejection(L.Song("s", [[[L.Syllable("a", [L.Note(60, 1.0)] * 5 + [L.Note(62, 1.0)])]]])) is None
    splits = [L.split_of(f"song{k}") for k in range(2000)]
    assert splits == [L.split_of(f"song{k}") for k in range(2000)]
    assert 150 < splits.count("test") < 250 and 150 < splits.count("valid") < 250


def write_lmd_npy(path: Path, melody, lyric) -> None:
    """An object array whose [0] is [syllable-level data, melody, lyric], as generate_lmd_dataset.py loads it."""
    arr = np.empty(1, dtype=object)
    arr[0] = [None, melody, lyric]
    np.save(path, arr, allow_pickle=True)


def test_lakh_npy_fixture_in_its_real_format(tmp_path):
    melody = [[[[74.0, 0.5, 0.0]], [[72.0, 1.0, 0.0], [72.0, 0.5, 0.0]]], [], [[[69.0, 1.0, 1.0]]]]
    lyric = [[["Listen"], ["to"]], [], [["Rain"]]]
    write_lmd_npy(tmp_path / "song.npy", melody, lyric)
    song = song_from_lmd(tmp_path / "song.npy", "lmd_song")
    assert L.lyric_tokens(song) == ["listen", "[align]", "to", "[align]", "[sep]", "rain", "[align]", "[sep]"]
    assert [(n.pitch, n.duration, n.rest) for n in song.notes()] == [(74, 0.5, 0.0), (72, 1.0, 0.0), (72, 0.5, 0.0), (69, 1.0, 1.0)]


def test_cli_writes_split_files_and_skip_report(tmp_path, capsys):
    scores = tmp_path / "scores"
    scores.mkdir()
    hand_made_score(scores)
    (scores / "broken.xml").write_text("<not-music/>")
    lmd = tmp_path / "lmd"
    lmd.mkdir()
    for k in range(12):
        notes = [[[60.0 + (k + j) % 7, 1.0, 0.0]] for j in range(10)]
        write_lmd_npy(lmd / f"s{k}.npy", [notes], [[[f"w{j}"] for j in range(10)]])
    (lmd / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(SystemExit) as exit_info:
        main(["music", "lyrics-melody", "--scores", str(scores), "--lmd-dir", str(lmd), "--out-dir", str(tmp_path / "data"),
              "--min-syllables", "4"])
    assert exit_info.value.code == 0
    data = tmp_path / "data"
    summary = json.loads((data / "summary.json").read_text())
    assert sum(summary["paired"].values()) == 13 and summary["skipped"] == 2
    skipped = (data / "skipped.tsv").read_text().splitlines()
    assert sorted(line.split("\t")[0].rsplit("/", 1)[-1] for line in skipped) == ["bad.npy", "broken.xml"]
    for split in ("train", "valid", "test"):
        lyric = (data / "para" / f"{split}.lyric").read_text().splitlines()
        melody = (data / "para" / f"{split}.melody").read_text().splitlines()
        names = (data / "para" / f"{split}.names").read_text().splitlines()
        assert len(lyric) == len(melody) == len(names) == summary["paired"][split]
        assert all(L.split_of(n) == split for n in names)
        for lyr, mel in zip(lyric, melody):
            assert lyr.split().count("[sep]") == mel.split().count("[sep]")
            assert lyr.split().count("[align]") == mel.split().count("[align]")


def test_cli_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["music", "lyrics-melody", "--scores", str(tmp_path / "missing"), "--out-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and err.strip().splitlines() == [f"error: {tmp_path / 'missing'}: no such folder of scores"]
    empty = tmp_path / "lyricless"
    empty.mkdir()
    score = music21.stream.Score([music21.stream.Part([note("C4", 1), note("D4", 1)])])
    score.write("musicxml", fp=str(empty / "a.musicxml"))
    with pytest.raises(SystemExit) as exit_info:
        main(["music", "lyrics-melody", "--scores", str(empty), "--out-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    errors = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("error:")]
    assert exit_info.value.code == 1 and errors == [f"error: {tmp_path / 'd'}: no paired song: no input has lyrics (1 melodies without lyrics, 0 inputs skipped)"]
    assert not (tmp_path / "d").exists()
