"""Hostile data directories (issue 16): each bad input is one line naming its file and line, never a silent wrong result."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Tuple

import pytest

from speechtools.cli.main import main
from speechtools.data.corpora import corpus_names
from speechtools.data.kaldi import DataDir, read_segments, read_table
from speechtools.errors import UserError

BOM = b"\xef\xbb\xbf"


def run(argv: List[str], capsys: pytest.CaptureFixture) -> Tuple[int, str, str]:
    """``speechtools ARGV`` in-process: exit status, stdout, stderr."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_a_three_field_utt2spk_line_is_an_error_in_every_command(data_dir: Path, capsys) -> None:
    lines = (data_dir / "utt2spk").read_text().splitlines()
    lines[1] += " extra"
    (data_dir / "utt2spk").write_text("\n".join(lines) + "\n")
    expected = [f"error: {data_dir / 'utt2spk'}:2: expected 'uttid spkid' (exactly 2 fields), got 3"]
    for argv in (["data", "validate", str(data_dir)], ["data", "fix", str(data_dir)], ["data", "split", str(data_dir), "2"]):
        code, out, err = run(argv, capsys)
        assert (code, out, err.splitlines()) == (1, "", expected), argv
    with pytest.raises(UserError, match="exactly 2 fields"):
        read_table(data_dir / "utt2spk")  # any reader of a file named utt2spk, e.g. the TTS dataset's speakers


def test_a_five_field_segments_line_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "segments").write_text("u1 rec 0 1 2\n")
    with pytest.raises(UserError) as info:
        read_segments(tmp_path / "segments")
    assert str(info.value) == f"{tmp_path / 'segments'}:1: expected 'uttid recid start end' (exactly 4 fields), got 5"


@pytest.mark.parametrize("start, end", [("0", "inf"), ("nan", "1"), ("0", "nan"), ("-inf", "1")])
def test_segment_times_must_be_finite(tmp_path: Path, start: str, end: str) -> None:
    (tmp_path / "segments").write_text(f"u1 rec 0 1\nu2 rec {start} {end}\n")
    with pytest.raises(UserError) as info:
        read_segments(tmp_path / "segments")
    assert str(info.value) == f"{tmp_path / 'segments'}:2: start and end must be finite numbers of seconds, got {start} {end}"


def test_duplicate_ids_in_an_utt_list_are_an_error_naming_both_lines(data_dir: Path, tmp_path: Path, capsys) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("utt01\nutt02\nutt01\n")
    code, out, err = run(["data", "subset", str(data_dir), str(tmp_path / "sub"), "--utt-list", str(ids)], capsys)
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: {ids}:3: utterance 'utt01' is listed twice (first on line 1)"]
    assert not (tmp_path / "sub").exists()
    spk = tmp_path / "spk.txt"
    spk.write_text("spk1\nspk1\n")
    code, _, err = run(["data", "subset", str(data_dir), str(tmp_path / "sub"), "--spk-list", str(spk)], capsys)
    assert (code, err.splitlines()) == (1, [f"error: {spk}:2: speaker 'spk1' is listed twice (first on line 1)"])


@pytest.mark.parametrize("name", ["wav.scp", "text", "utt2spk", "spk2utt", "segments", "durations"])
def test_a_bom_at_the_start_of_a_kaldi_file_is_dropped_with_a_warning(make_data_dir, name: str, capsys) -> None:
    root = make_data_dir(segments=name == "segments")
    path = root / name
    path.write_bytes(BOM + path.read_bytes())
    code, out, err = run(["data", "validate", str(root)], capsys)
    assert code == 0, err
    assert err.splitlines() == [f"warning: {path}:1: ignoring the UTF-8 byte-order mark (BOM) at the start of the file"]
    assert out.startswith(f"{root}: OK: 6 utterances")
    data = DataDir.load(root)
    capsys.readouterr()
    assert "\ufeff" not in "".join(data.wav_scp) + "".join(data.text or {}) + "".join(data.utt2spk or {})
    assert min(data.utt_ids()) == "utt00"


def test_a_bom_inside_a_file_is_an_error_naming_its_line(data_dir: Path, capsys) -> None:
    text = (data_dir / "text").read_bytes().splitlines(keepends=True)
    text[3] = BOM + text[3]  # two files joined with cat, the second saved with a BOM
    (data_dir / "text").write_bytes(b"".join(text))
    code, out, err = run(["data", "fix", str(data_dir)], capsys)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {data_dir / 'text'}:4: a UTF-8 byte-order mark (BOM) starts this line (files joined with cat?); remove it"
    ]


@pytest.mark.parametrize("command", ["validate", "fix"])
def test_a_dangling_text_symlink_is_an_error_not_an_absent_file(data_dir: Path, command: str, capsys) -> None:
    (data_dir / "text").unlink()
    os.symlink(data_dir / "gone.txt", data_dir / "text")
    code, out, err = run(["data", command, str(data_dir)], capsys)
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: {data_dir / 'text'}: is a symbolic link to '{data_dir / 'gone.txt'}', which does not exist"]
    assert os.path.islink(data_dir / "text")  # fix left the directory alone


@pytest.mark.parametrize("command", ["validate", "fix", "split"])
def test_a_looping_text_symlink_is_an_error(data_dir: Path, command: str, capsys) -> None:
    (data_dir / "text").unlink()
    os.symlink("text", data_dir / "text")
    argv = ["data", command, str(data_dir)] + (["2"] if command == "split" else [])
    code, out, err = run(argv, capsys)
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: {data_dir / 'text'}: is a symbolic link that loops (it leads back to itself)"]


def test_a_wav_scp_folder_is_named_as_a_folder(data_dir: Path, capsys) -> None:
    (data_dir / "wav.scp").unlink()
    (data_dir / "wav.scp").mkdir()
    for command in ("validate", "fix"):
        code, out, err = run(["data", command, str(data_dir)], capsys)
        assert (code, out, err.splitlines()) == (1, "", [f"error: {data_dir / 'wav.scp'}: is a folder, expected the wav.scp file"])


def test_an_audio_path_that_is_a_folder_is_named_as_a_folder(data_dir: Path, capsys) -> None:
    lines = (data_dir / "wav.scp").read_text().splitlines()
    folder = data_dir / "wavs"
    lines[2] = f"utt02 {folder}"
    (data_dir / "wav.scp").write_text("\n".join(lines) + "\n")
    code, _, err = run(["data", "validate", str(data_dir)], capsys)
    assert (code, err.splitlines()) == (1, [f"error: {data_dir / 'wav.scp'}:3: audio path is a folder, not an audio file: {folder}"])


def test_usage_mistakes_exit_2_with_one_line(data_dir: Path, tmp_path: Path, capsys) -> None:
    cases = [
        (["data", "subset", str(data_dir), str(tmp_path / "s"), "--first", "2", "--last", "2"],
         "error: give exactly one of --first, --last, --utt-list, --spk-list (see 'speechtools data subset --help')"),
        (["data", "subset", str(data_dir), str(tmp_path / "s")],
         "error: give exactly one of --first, --last, --utt-list, --spk-list (see 'speechtools data subset --help')"),
        (["data", "subset", str(data_dir), str(tmp_path / "s"), "--first", "0"],
         "error: Invalid value for '--first': 0 is not in the range x>=1. (see 'speechtools data subset --help')"),
        (["data", "subset", str(data_dir), str(data_dir), "--first", "2"],
         f"error: the destination {data_dir} is also a source; give another DST (see 'speechtools data subset --help')"),
        (["data", "combine", str(data_dir), str(data_dir)],
         f"error: the destination {data_dir} is also a source; give another DST (see 'speechtools data combine --help')"),
        (["data", "split", str(data_dir), "0"],
         "error: Invalid value for 'N': 0 is not in the range x>=1. (see 'speechtools data split --help')"),
        (["data", "prepare", "nope"],
         f"error: unknown corpus 'nope'; known: {', '.join(corpus_names())} (see 'speechtools data prepare --help')"),
    ]
    for argv, line in cases:
        code, out, err = run(argv, capsys)
        assert (code, out, err.splitlines()) == (2, "", [line]), argv
    assert not (tmp_path / "s").exists()
