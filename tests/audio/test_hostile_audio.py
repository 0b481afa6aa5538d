"""Hostile audio (issue 16): a WAV shorter than its header says, a folder where audio belongs, audio too short for one frame."""

import numpy as np
import pytest
import soundfile as sf

from speechtools.audio.io import load_audio
from speechtools.errors import UserError

from .conftest import tone


def cut_wav(tmp_path, keep_bytes: int):
    """A 16-bit 22.05 kHz WAV of 22050 samples whose file is cut to ``keep_bytes`` (header untouched)."""
    path = tmp_path / "cut.wav"
    sf.write(path, tone(220.0), 22050, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:keep_bytes])
    return path


def test_a_wav_shorter_than_its_header_says_is_an_error(tmp_path):
    path = cut_wav(tmp_path, 44 + 2 * 11025)
    assert sf.info(str(path)).frames == 11025  # libsndfile alone would return half the recording
    with pytest.raises(UserError) as info:
        load_audio(path, 22050, utt_id="u1")
    assert str(info.value) == (f"{path}: utterance u1: truncated WAV: the header declares 22050 samples (1.000 s) "
                               "but the file holds 11025 (0.500 s)")


def test_a_truncated_wav_from_a_pipe_is_an_error_and_a_streamed_header_is_not(tmp_path):
    path = cut_wav(tmp_path, 44 + 2 * 100)
    with pytest.raises(UserError, match="truncated WAV: the header declares 22050 samples"):
        load_audio(f"cat {path} |", 22050)
    streamed = tmp_path / "streamed.wav"
    data = bytearray(path.read_bytes())
    data[40:44] = b"\xff\xff\xff\xff"  # data size unknown when the header was written (a pipe)
    streamed.write_bytes(bytes(data))
    assert load_audio(streamed, 22050).size == 100


def test_an_intact_wav_with_an_odd_chunk_before_the_data_loads(tmp_path):
    path = tmp_path / "full.wav"
    sf.write(path, np.zeros((50, 2), np.float32), 8000, subtype="FLOAT")
    raw = path.read_bytes()
    fmt_end = 12 + 8 + int.from_bytes(raw[16:20], "little")
    extra = b"LIST" + (3).to_bytes(4, "little") + b"abc\x00"  # odd size, padded
    riff = (int.from_bytes(raw[4:8], "little") + len(extra)).to_bytes(4, "little")
    path.write_bytes(raw[:4] + riff + raw[8:fmt_end] + extra + raw[fmt_end:])
    assert load_audio(path, 8000).size == 50


def test_extract_feats_of_a_truncated_wav_is_one_line(tmp_path, run_cli):
    path = cut_wav(tmp_path, 44 + 2 * 11025)
    root = tmp_path / "data"
    root.mkdir()
    (root / "wav.scp").write_text(f"a {path}\n")
    code, out, err = run_cli(["extract-feats", root, tmp_path / "dump", "--no-progress"])
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: {path}: utterance a: truncated WAV: the header declares 22050 samples (1.000 s) "
                                "but the file holds 11025 (0.500 s)"]


def test_an_audio_path_that_is_a_folder_says_so(tmp_path):
    with pytest.raises(UserError) as info:
        load_audio(tmp_path, 22050, utt_id="u1")
    assert str(info.value) == f"{tmp_path}: utterance u1: is a folder, expected an audio file"


def test_audio_too_short_for_one_frame_names_the_wav_scp_line(tmp_path, run_cli):
    root = tmp_path / "data"
    root.mkdir()
    sf.write(tmp_path / "long.wav", tone(220.0), 22050)
    sf.write(tmp_path / "short.wav", tone(220.0, seconds=0.01), 22050)
    (root / "wav.scp").write_text(f"a {tmp_path / 'long.wav'}\nb {tmp_path / 'short.wav'}\n")
    code, out, err = run_cli(["extract-feats", root, tmp_path / "dump", "--no-progress"])
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: {root / 'wav.scp'}:2: utterance b: audio too short for one analysis frame: "
                                "220 samples (0.010 s), need more than n_fft/2 = 512 (0.023 s)"]


def test_a_too_short_segment_names_the_segments_line(tmp_path, run_cli):
    root = tmp_path / "data"
    root.mkdir()
    sf.write(tmp_path / "rec.wav", tone(220.0), 22050)
    (root / "wav.scp").write_text(f"rec {tmp_path / 'rec.wav'}\n")
    (root / "segments").write_text("a rec 0 0.5\nb rec 0.5 0.51\n")
    code, _, err = run_cli(["extract-feats", root, tmp_path / "dump", "--no-progress"])
    assert code == 1
    assert err.splitlines() == [f"error: {root / 'segments'}:2: utterance b: audio too short for one analysis frame: "
                                "221 samples (0.010 s), need more than n_fft/2 = 512 (0.023 s)"]
