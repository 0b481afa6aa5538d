"""Readers and writers of speechtools.data.kaldi: round trips, pipes, line-numbered errors."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from speechtools.data.kaldi import (
    DataDir,
    Segment,
    check_sorted,
    read_durations,
    read_records,
    read_segments,
    read_spk2utt,
    read_table,
    split_wav_entry,
    utt2spk_to_spk2utt,
    write_durations,
    write_spk2utt,
    write_table,
)
from speechtools.errors import UserError


def test_wav_scp_paths_and_pipes_round_trip(tmp_path: Path) -> None:
    table = {
        "b": "sox in.flac -t wav - |",
        "a": "/data/a.wav",
        "c": "flac -c -d -s c.flac |",
    }
    write_table(tmp_path / "wav.scp", table)
    assert (tmp_path / "wav.scp").read_text().splitlines()[0] == "a /data/a.wav"
    back = read_table(tmp_path / "wav.scp")
    assert list(back) == ["a", "b", "c"]
    assert back == table
    assert split_wav_entry(back["a"]) == ("/data/a.wav", False)
    assert split_wav_entry(back["b"]) == ("sox in.flac -t wav -", True)


def test_text_allows_empty_transcript_and_keeps_unicode(tmp_path: Path) -> None:
    (tmp_path / "text").write_text("u1 你好 世界\nu2\nu3 héllo  wörld\n", encoding="utf-8")
    table = read_table(tmp_path / "text", allow_empty_value=True)
    assert table == {"u1": "你好 世界", "u2": "", "u3": "héllo  wörld"}
    with pytest.raises(UserError) as err:
        read_table(tmp_path / "text")
    assert err.value.line == 2


def test_spk2utt_round_trip_and_inverse(tmp_path: Path) -> None:
    utt2spk = {"u3": "s1", "u1": "s2", "u2": "s1"}
    spk2utt = utt2spk_to_spk2utt(utt2spk)
    assert spk2utt == {"s1": ["u2", "u3"], "s2": ["u1"]}
    write_spk2utt(tmp_path / "spk2utt", {"s2": ["u1"], "s1": ["u3", "u2"]})
    assert (tmp_path / "spk2utt").read_text() == "s1 u2 u3\ns2 u1\n"
    assert read_spk2utt(tmp_path / "spk2utt") == spk2utt


def test_segments_round_trip_exact_times(tmp_path: Path) -> None:
    data = DataDir(
        wav_scp={"rec": "/r.wav"},
        segments={"u1": Segment("rec", 0.0, 1.25), "u2": Segment("rec", 1.25, 2.123456), "u3": Segment("rec", 3.0, -1.0)},
    )
    data.save(tmp_path)
    assert read_segments(tmp_path / "segments") == data.segments
    assert (tmp_path / "segments").read_text().splitlines()[0] == "u1 rec 0.000 1.250"


def test_durations_round_trip_and_errors(tmp_path: Path) -> None:
    durs = {"b": [3, 0, 5], "a": [1]}
    write_durations(tmp_path / "durations", durs)
    assert (tmp_path / "durations").read_text() == "a 1\nb 3 0 5\n"
    assert read_durations(tmp_path / "durations") == durs
    (tmp_path / "bad").write_text("a 1 2\nb 1 x\n")
    with pytest.raises(UserError) as err:
        read_durations(tmp_path / "bad")
    assert (err.value.path, err.value.line) == (str(tmp_path / "bad"), 2)
    (tmp_path / "neg").write_text("a 1 -2\n")
    with pytest.raises(UserError, match=">= 0"):
        read_durations(tmp_path / "neg")


def test_records_keep_line_numbers_and_reject_duplicates(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("a x\nb y z\na w\n")
    with pytest.raises(UserError) as err:
        read_records(tmp_path / "t")
    assert err.value.line == 3
    assert "first on line 1" in err.value.message
    (tmp_path / "t").write_text("a x\nb\ty z\n")
    records = read_records(tmp_path / "t")
    assert [(r.line, r.key, r.value) for r in records] == [(1, "a", "x"), (2, "b", "y z")]


def test_check_sorted_uses_c_byte_order(tmp_path: Path) -> None:
    path = tmp_path / "t"
    path.write_text("B x\na x\nb x\n")  # byte order: 'B' (0x42) < 'a' (0x61)
    check_sorted(read_records(path), path)
    path.write_text("a x\nB x\n")  # sorted in a case-insensitive locale, not in C
    with pytest.raises(UserError) as err:
        check_sorted(read_records(path), path)
    assert err.value.line == 2


def test_data_dir_load_save_select(data_dir: Path, tmp_path: Path) -> None:
    data = DataDir.load(data_dir)
    assert data.utt_ids() == [f"utt{k:02d}" for k in range(6)]
    part = data.select(["utt01", "utt04"])
    assert part.utt_ids() == ["utt01", "utt04"]
    assert set(part.text) == set(part.utt2spk) == set(part.durations) == {"utt01", "utt04"}
    part.save(tmp_path / "part")
    assert (tmp_path / "part" / "spk2utt").read_text() == "spk0 utt04\nspk1 utt01\n"
    assert DataDir.load(tmp_path / "part").wav_scp == part.wav_scp


def test_written_order_matches_gnu_sort_in_c_locale(tmp_path: Path) -> None:
    """Independent reference: ``LC_ALL=C sort`` orders our written keys the same way."""
    if shutil.which("sort") is None:
        pytest.skip("no sort(1) on this machine")
    rng = random.Random(0)
    alphabet = "aAbB_-.09zZé你ü"
    keys = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(300)} - {".", ".."}  # not ids
    write_table(tmp_path / "t", {k: "x" for k in keys})
    ours = (tmp_path / "t").read_bytes()
    gnu = subprocess.run(
        ["sort", "-k1,1", str(tmp_path / "t")], capture_output=True, env={**os.environ, "LC_ALL": "C"}, check=True
    ).stdout
    assert ours == gnu
    check_sorted(read_records(tmp_path / "t"), tmp_path / "t")
