"""speechtools data validate: a good directory passes; each kind of bad input names its file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from speechtools.data.validate import validate_data_dir
from speechtools.errors import UserError


def lines(path: Path) -> list:
    return path.read_text(encoding="utf-8").splitlines()


def rewrite(path: Path, new_lines: list) -> None:
    path.write_text("".join(line + "\n" for line in new_lines), encoding="utf-8")


def where(exc: pytest.ExceptionInfo) -> str:
    return exc.value.location()


def test_valid_directory_summary(data_dir: Path) -> None:
    summary = validate_data_dir(data_dir)
    assert (summary.n_utts, summary.n_speakers) == (6, 2)
    assert summary.files == ["wav.scp", "text", "utt2spk", "spk2utt", "durations"]
    assert summary.line() == (
        f"{data_dir}: OK: 6 utterances, 2 speakers, files: wav.scp text utt2spk spk2utt durations"
    )


def test_valid_with_segments(make_data_dir) -> None:  # type: ignore[no-untyped-def]
    root = make_data_dir(segments=True)
    summary = validate_data_dir(root)
    assert (summary.n_utts, summary.n_recordings) == (6, 3)


def test_unsorted_names_first_out_of_order_line(data_dir: Path) -> None:
    text = lines(data_dir / "text")
    text[2], text[3] = text[3], text[2]
    rewrite(data_dir / "text", text)
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir)
    assert where(err) == f"{data_dir / 'text'}:4"
    assert "not sorted" in err.value.message


def test_missing_key_names_line_where_it_belongs(data_dir: Path) -> None:
    utt2spk = lines(data_dir / "utt2spk")
    del utt2spk[2]  # utt02
    rewrite(data_dir / "utt2spk", utt2spk)
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir)
    assert where(err) == f"{data_dir / 'utt2spk'}:3"
    assert err.value.message == "missing key 'utt02' (present in wav.scp:3)"


def test_missing_last_key(data_dir: Path) -> None:
    rewrite(data_dir / "durations", lines(data_dir / "durations")[:-1])
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir)
    assert where(err) == f"{data_dir / 'durations'}:6"
    assert "utt05" in err.value.message


def test_extra_key(data_dir: Path) -> None:
    rewrite(data_dir / "text", lines(data_dir / "text") + ["utt99 extra words"])
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir)
    assert where(err) == f"{data_dir / 'text'}:7"
    assert err.value.message == "key 'utt99' is not in wav.scp"


def test_bad_utf8_names_line(data_dir: Path) -> None:
    raw = (data_dir / "text").read_bytes().split(b"\n")
    raw[4] = raw[4] + b" caf\xe9"  # Latin-1 byte, not UTF-8
    (data_dir / "text").write_bytes(b"\n".join(raw))
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir)
    assert where(err) == f"{data_dir / 'text'}:5"
    assert "UTF-8" in err.value.message


def test_duration_count_mismatch(data_dir: Path) -> None:
    durs = lines(data_dir / "durations")
    durs[1] += " 7"
    rewrite(data_dir / "durations", durs)
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir)
    assert where(err) == f"{data_dir / 'durations'}:2"
    assert err.value.message == "4 durations for 3 tokens in text:2 (utterance 'utt01'; whitespace tokens: pass --frontend NAME for phones)"


def write_shapes(path: Path, frames: dict) -> None:
    rewrite(path, [f"{u} {t},80" for u, t in sorted(frames.items())])


def test_duration_sum_matches_feature_frames(data_dir: Path, tmp_path: Path) -> None:
    dump = tmp_path / "dump" / "train"
    dump.mkdir(parents=True)
    frames = {line.split()[0]: sum(int(d) for d in line.split()[1:]) for line in lines(data_dir / "durations")}
    write_shapes(dump / "mel_shape", frames)
    summary = validate_data_dir(data_dir, feats=dump)
    assert summary.shape_file == dump / "mel_shape"
    frames["utt03"] += 1
    write_shapes(dump / "mel_shape", frames)
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir, feats=dump)
    assert where(err) == f"{data_dir / 'durations'}:4"
    assert err.value.message == f"durations sum to 3 frames but {dump / 'mel_shape'}:4 has 4"
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir, feats=dump / "mel_shape")
    assert where(err) == f"{data_dir / 'durations'}:4"


def test_shape_file_errors(data_dir: Path, tmp_path: Path) -> None:
    shape = tmp_path / "pitch_shape"
    rewrite(shape, ["utt00 3", "utt01 x,1"])
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir, feats=shape)
    assert where(err) == f"{shape}:2"
    rewrite(shape, ["utt00 3,1"])
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir, feats=shape)
    assert where(err) == f"{data_dir / 'durations'}:2"
    assert "not in" in err.value.message


def test_missing_audio_file_and_no_check_files(data_dir: Path) -> None:
    wav = lines(data_dir / "wav.scp")
    wav[3] = "utt03 /nonexistent/utt03.wav"
    rewrite(data_dir / "wav.scp", wav)
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir)
    assert where(err) == f"{data_dir / 'wav.scp'}:4"
    assert validate_data_dir(data_dir, check_files=False).n_utts == 6


def test_pipes_are_not_checked(data_dir: Path) -> None:
    wav = lines(data_dir / "wav.scp")
    wav[0] = "utt00 sox /nonexistent.flac -t wav - |"
    rewrite(data_dir / "wav.scp", wav)
    assert validate_data_dir(data_dir).n_utts == 6


def test_spk2utt_inconsistent_with_utt2spk(data_dir: Path) -> None:
    rewrite(data_dir / "spk2utt", ["spk0 utt00 utt02", "spk1 utt01 utt03 utt05 utt04"])
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir)
    assert where(err) == f"{data_dir / 'spk2utt'}:1"
    assert err.value.message == "speaker 'spk0': lacks utt04"


def test_spk2utt_missing_speaker(data_dir: Path) -> None:
    rewrite(data_dir / "spk2utt", lines(data_dir / "spk2utt")[:1])
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir)
    assert where(err) == f"{data_dir / 'spk2utt'}:2"
    assert "spk1" in err.value.message


def test_segment_names_unknown_recording(make_data_dir) -> None:  # type: ignore[no-untyped-def]
    root = make_data_dir(segments=True)
    seg = lines(root / "segments")
    seg[4] = seg[4].replace("uttrec2", "uttrec9")
    rewrite(root / "segments", seg)
    with pytest.raises(UserError) as err:
        validate_data_dir(root)
    assert where(err) == f"{root / 'segments'}:5"


def test_first_bad_line_wins(data_dir: Path) -> None:
    text = lines(data_dir / "text")
    text[4], text[5] = text[5], text[4]
    text[1], text[2] = text[2], text[1]
    rewrite(data_dir / "text", text)
    with pytest.raises(UserError) as err:
        validate_data_dir(data_dir)
    assert where(err) == f"{data_dir / 'text'}:3"


def test_missing_directory_and_wav_scp(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        validate_data_dir(tmp_path / "nope")
    (tmp_path / "d").mkdir()
    with pytest.raises(UserError) as err:
        validate_data_dir(tmp_path / "d")
    assert where(err) == str(tmp_path / "d" / "wav.scp")


def test_durations_of_front_end_tokens_validate_with_that_front_end(tmp_path: Path) -> None:
    """A TTS recipe's data dir: raw text, durations per phone of the en_phone front-end."""
    from speechtools.data.fix import fix_data_dir
    from speechtools.data.validate import validate_data_dir
    from speechtools.text.frontend import get_frontend

    data = tmp_path / "data"
    data.mkdir()
    text = "Hello world."
    phones = get_frontend("en_phone").tokenize(text)
    (data / "wav.scp").write_text("u1 /dev/null\n")
    (data / "text").write_text(f"u1 {text}\n")
    (data / "utt2spk").write_text("u1 s\n")
    (data / "spk2utt").write_text("s u1\n")
    (data / "durations").write_text("u1 " + " ".join(["2"] * len(phones)) + "\n")
    with pytest.raises(UserError, match=r"durations for 2 tokens .*pass --frontend NAME"):
        validate_data_dir(data, check_files=False)
    assert "OK: 1 utterance" in validate_data_dir(data, check_files=False, frontend="en_phone").line()
    assert fix_data_dir(data, backup=False, frontend="en_phone").n_kept == 1
