"""Audio loading: formats, mono mixdown, resampling, wav.scp pipes, segments, and clear errors."""

import sys

import numpy as np
import pytest
import soundfile as sf

from speechtools.audio.io import load_audio, save_audio
from speechtools.errors import UserError

from .conftest import tone


def dominant_frequency(wav: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wav * np.hanning(wav.size)))
    return float(np.argmax(spectrum) * sample_rate / wav.size)


def test_loads_real_flac_as_mono_float32(lj_clip):
    wav = load_audio(lj_clip, 22050)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert wav.size == sf.info(str(lj_clip)).frames == 39325
    assert 0.05 < np.abs(wav).max() <= 1.0


def test_stereo_is_averaged_to_mono(tmp_path):
    left, right = tone(300), tone(300, amplitude=0.1)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), 22050, subtype="FLOAT")
    wav = load_audio(tmp_path / "st.wav", 22050)
    np.testing.assert_allclose(wav, (left + right) / 2, atol=1e-7)


def test_mp3_decodes(tmp_path):
    sf.write(tmp_path / "a.mp3", tone(440, seconds=1.0), 22050, format="MP3")
    wav = load_audio(tmp_path / "a.mp3", 22050)
    assert wav.dtype == np.float32
    assert abs(wav.size - 22050) < 3000  # mp3 adds encoder delay/padding
    assert abs(dominant_frequency(wav, 22050) - 440) < 3


def test_wrong_rate_is_an_error_naming_utterance_and_file(tmp_path):
    sf.write(tmp_path / "x.wav", tone(200, sample_rate=16000), 16000)
    with pytest.raises(UserError) as info:
        load_audio(tmp_path / "x.wav", 22050, utt_id="utt7")
    assert "utterance utt7" in info.value.message and "16000" in info.value.message
    assert info.value.path.endswith("x.wav")


def test_resample_with_soxr_keeps_frequency_and_duration(tmp_path):
    sf.write(tmp_path / "x.wav", tone(440, sample_rate=16000), 16000, subtype="FLOAT")
    wav = load_audio(tmp_path / "x.wav", 22050, resample=True)
    assert wav.size == 22050
    assert abs(dominant_frequency(wav, 22050) - 440) < 1.5


def test_pipe_entry_equals_direct_read(lj_clip):
    piped = load_audio(f"cat {lj_clip} |", 22050, utt_id="LJ001-0008")
    np.testing.assert_array_equal(piped, load_audio(lj_clip, 22050))


def test_failing_pipe_is_an_error_with_status():
    with pytest.raises(UserError, match="status 3"):
        load_audio(f"{sys.executable} -c 'import sys; sys.exit(3)' |", 22050, utt_id="u1")


def test_segment_is_cut_in_seconds(lj_clip):
    full = load_audio(lj_clip, 22050)
    part = load_audio(lj_clip, 22050, segment=(0.5, 1.0))
    np.testing.assert_array_equal(part, full[11025:22050])
    tail = load_audio(f"cat {lj_clip} |", 22050, segment=(1.5, -1))
    np.testing.assert_array_equal(tail, full[33075:])


def test_segment_past_the_end_is_an_error(lj_clip):
    with pytest.raises(UserError, match="ends after the recording"):
        load_audio(lj_clip, 22050, segment=(1.0, 3.0), utt_id="seg1")


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty audio file"), (b"RIFF\x00\x00garbage" * 20, "cannot decode audio")],
)
def test_empty_or_corrupt_file_is_an_error(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message) as info:
        load_audio(path, 22050, utt_id="bad1")
    assert "utterance bad1" in str(info.value) and str(path) in str(info.value)


def test_header_only_file_has_no_samples(tmp_path):
    sf.write(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32), 22050)
    with pytest.raises(UserError, match="no samples"):
        load_audio(tmp_path / "zero.wav", 22050)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(UserError, match="no such audio file"):
        load_audio(tmp_path / "nope.flac", 22050)


def test_save_audio_round_trip_and_clipping(tmp_path):
    wav = tone(250) * 3.0
    save_audio(tmp_path / "out.flac", wav, 22050)
    back = load_audio(tmp_path / "out.flac", 22050)
    np.testing.assert_allclose(back, np.clip(wav, -1, 1), atol=1e-4)
    assert [p.name for p in tmp_path.iterdir()] == ["out.flac"]


def test_save_audio_unknown_format_writes_nothing(tmp_path):
    with pytest.raises(UserError, match="unknown audio format"):
        save_audio(tmp_path / "out.xyz", tone(250), 22050)
    assert list(tmp_path.iterdir()) == []
