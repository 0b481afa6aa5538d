"""Hostile MIDI input (issue 16): header-only and zero-tempo files, stats with nothing readable, ticks per beat."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from speechtools.errors import UserError
from speechtools.music import octuple as O

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "music"
OCTUPLE = "<0-0> <1-0> <2-0> <3-60> <4-4> <5-20> <6-9> <7-20>\n"


def header(n_tracks: int, fmt: int = 1, division: int = 480) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, n_tracks, division)


def track(events: bytes) -> bytes:
    return b"MTrk" + struct.pack(">I", len(events)) + events


NOTE = b"\x00\x90\x3c\x40" + b"\x83\x60\x80\x3c\x40"  # C4 on, one beat later off
END = b"\x00\xff\x2f\x00"


@pytest.mark.parametrize("data, problem", [
    (header(0), "has only a header (MThd) and no track: no notes, tempo or time signature"),
    (header(2), "has only a header (MThd): it declares 2 tracks but the file ends after the header"),
    (header(2) + track(NOTE + END), "truncated: the header declares 2 tracks, the file holds 1"),
    (header(1) + track(NOTE + END)[:-3], "truncated: track 1 declares 13 bytes but the file ends after 10"),
    (header(1, fmt=0) + track(b"\x00\xff\x51\x03\x07\xa1\x20" + NOTE + b"\x10\xff\x51\x03\x00\x00\x00" + END),
     "zero tempo: a set_tempo of 0 microseconds per beat in track 1 at tick 496"),
    (b"RIFF" + bytes(20), "not a MIDI file: it does not start with an 'MThd' header"),
    (header(1)[:10], "truncated: the file ends inside its 'MThd' header (10 bytes; a MIDI header has 14)"),
], ids=["header-only", "header-declares-tracks", "missing-track", "cut-track", "zero-tempo", "not-midi", "cut-header"])
def test_unloadable_midi_files_are_described_in_midi_terms(tmp_path, run_cli, data, problem):
    path = tmp_path / "bad.mid"
    path.write_bytes(data)
    code, out, err = run_cli(["midi", "encode", path, tmp_path / "out.txt"])
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: {path}: {problem}"]
    assert not (tmp_path / "out.txt").exists()


def test_stats_skip_errors_with_no_readable_file_exits_non_zero(tmp_path, run_cli):
    folder = tmp_path / "midi"
    folder.mkdir()
    (folder / "a.mid").write_bytes(header(0))
    (folder / "b.mid").write_bytes(b"garbage")
    out_json = tmp_path / "stats.json"
    code, out, err = run_cli(["midi", "stats", folder, "--skip-errors", "--json", out_json])
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (f"error: {folder}: no song to count: all 2 MIDI file(s) were skipped "
                                    f"(first: {folder / 'a.mid'}: has only a header (MThd) and no track: no notes, tempo or time signature)")
    assert not out_json.exists()
    shutil.copy(FIXTURES / "aloha_oe.mid", folder / "c.mid")  # one good file: the others are skipped and reported
    code, out, err = run_cli(["midi", "stats", folder, "--skip-errors", "--json", out_json])
    assert code == 0, err
    assert "songs: 1, skipped: 2" in out
    assert json.loads(out_json.read_text())["summary"]["songs"] == 1


def test_ticks_per_beat_is_within_the_midi_header_limit(tmp_path, run_cli):
    text = tmp_path / "a.oct.txt"
    text.write_text(OCTUPLE)
    code, _, err = run_cli(["midi", "decode", text, tmp_path / "a.mid", "--ticks-per-beat", "40000"])
    assert code == 2
    assert err.startswith("error: Invalid value for '--ticks-per-beat': 40000 is not in the range 16<=x<=32767.")
    assert not (tmp_path / "a.mid").exists()
    code, _, err = run_cli(["midi", "decode", text, tmp_path / "a.mid", "--ticks-per-beat", "32767"])
    assert code == 0, err
    assert O.load_midi(tmp_path / "a.mid").ticks_per_beat == 32767
    with pytest.raises(UserError, match=r"ticks per beat must be 1\.\.32767 \(the MIDI header's 15 bits\), got 32768"):
        O.decode(O.lines_to_encoding([(1, OCTUPLE)], "x"), ticks_per_beat=32768)
