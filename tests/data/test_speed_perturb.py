"""data speed-perturb: the signal (a tone's frequency and duration scale by the factor), the data directory, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from speechtools.cli.main import cli
from speechtools.data.kaldi import DataDir, read_segments, read_table
from speechtools.data.speed_perturb import parse_factors, perturbed_id, speed_perturb, speed_perturb_data_dir
from speechtools.data.validate import validate_data_dir
from speechtools.errors import UserError

from .conftest import SAMPLE_RATE


def peak_frequency(wav: np.ndarray, rate: int) -> float:
    """The strongest frequency of ``wav`` (Hz), read from a zero-padded spectrum (0.1 Hz bins)."""
    n = rate * 10
    spectrum = np.abs(np.fft.rfft(wav * np.hanning(len(wav)), n))
    return float(np.argmax(spectrum)) * rate / n


@pytest.mark.parametrize("factor", [0.9, 1.1, 0.5, 2.0])
def test_a_tone_plays_factor_times_higher_and_shorter(factor: float) -> None:
    rate, freq = 16000, 440.0
    tone = (0.5 * np.sin(2 * np.pi * freq * np.arange(rate) / rate)).astype(np.float32)
    out = speed_perturb(tone, factor, rate)
    assert out.dtype == np.float32
    assert abs(len(out) - rate / factor) <= 1
    assert peak_frequency(out, rate) == pytest.approx(freq * factor, abs=0.5)
    assert np.abs(out[len(out) // 4: -len(out) // 4]).max() == pytest.approx(0.5, abs=0.01)  # no gain change


def test_there_and_back_again_is_the_signal() -> None:
    rate = 16000
    t = np.arange(rate) / rate
    wav = (0.3 * np.sin(2 * np.pi * 300 * t) + 0.2 * np.sin(2 * np.pi * 1200 * t)).astype(np.float32)
    back = speed_perturb(speed_perturb(wav, 1.25, rate), 0.8, rate)
    assert abs(len(back) - len(wav)) <= 1
    middle = slice(800, rate - 800)
    assert np.max(np.abs(back[middle] - wav[middle])) < 0.01


def test_factor_one_is_the_input() -> None:
    wav = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    assert np.array_equal(speed_perturb(wav, 1.0, 16000), wav)


@pytest.mark.parametrize("spec, expected", [("0.9 1.0 1.1", [0.9, 1.0, 1.1]), ("0.9,1.1", [0.9, 1.1]), (" 1 ", [1.0])])
def test_parse_factors(spec: str, expected: list) -> None:
    assert parse_factors(spec) == expected


@pytest.mark.parametrize("spec, message", [("", "no speed factors"), ("0.9 x", "'x' is not a number"),
                                           ("3", "outside [0.5, 2.0]"), ("0.9 0.90", "given twice"), ("nan", "outside")])
def test_parse_factors_errors(spec: str, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_factors(spec)


def test_kaldi_names() -> None:
    assert perturbed_id("utt01", 0.9) == "sp0.9-utt01"
    assert perturbed_id("spk0", 1.1) == "sp1.1-spk0"
    assert perturbed_id("utt01", 1.0) == "utt01"


def test_three_way_directory(make_data_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = make_data_dir("train", n_utts=4)
    out = tmp_path / "train_sp"
    report = speed_perturb_data_dir(src, out, [0.9, 1.0, 1.1], progress=False)
    assert report.n_written == 12 and report.left_out == ["durations"]
    assert report.lines()[0] == f"{out}: 12 utterances (4 at speeds 0.9 1 1.1)"
    assert "durations" in report.lines()[1]
    validate_data_dir(out)
    source, result = DataDir.load(src), DataDir.load(out)
    assert result.durations is None
    for utt in source.utt_ids():
        assert result.wav_scp[utt] == source.wav_scp[utt]  # factor 1: the source's entry, no copy
        for factor in (0.9, 1.1):
            new = f"sp{factor:g}-{utt}"
            assert result.text[new] == source.text[utt]
            assert result.utt2spk[new] == f"sp{factor:g}-{source.utt2spk[utt]}"
            wav, rate = sf.read(result.wav_scp[new], dtype="float32")
            original, _ = sf.read(source.wav_scp[utt], dtype="float32")
            assert rate == SAMPLE_RATE
            assert Path(result.wav_scp[new]) == out.resolve() / "wav" / f"{new}.wav"
            assert np.allclose(wav, speed_perturb(original, factor, SAMPLE_RATE), atol=1 / 2 ** 14)  # 16-bit PCM
    assert sorted(read_table(out / "spk2utt")) == ["sp0.9-spk0", "sp0.9-spk1", "sp1.1-spk0", "sp1.1-spk1", "spk0", "spk1"]


def test_without_factor_one_and_with_durations_only_at_one(make_data_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = make_data_dir("train", n_utts=2)
    fast = speed_perturb_data_dir(src, tmp_path / "fast", [1.2], progress=False)
    assert sorted(DataDir.load(tmp_path / "fast").wav_scp) == ["sp1.2-utt00", "sp1.2-utt01"]
    assert fast.n_written == 2
    same = speed_perturb_data_dir(src, tmp_path / "same", [1.0], progress=False)
    assert same.left_out == [] and DataDir.load(tmp_path / "same").durations == DataDir.load(src).durations
    assert not (tmp_path / "same" / "wav").exists()


def test_segments_are_cut_before_the_speed_changes(make_data_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = make_data_dir("train", n_utts=4, segments=True, durations=False)
    out = tmp_path / "train_sp"
    speed_perturb_data_dir(src, out, [1.0, 0.8], progress=False)
    validate_data_dir(out)
    segments = read_segments(out / "segments")
    source_segments = read_segments(src / "segments")
    for utt, seg in source_segments.items():
        assert segments[utt] == seg  # factor 1 keeps the source's span of its recording
        new = f"sp0.8-{utt}"
        assert segments[new].wav_id == new and segments[new].start == 0.0 and segments[new].end <= 0
        wav, _ = sf.read(DataDir.load(out).wav_scp[new])
        assert abs(len(wav) - (seg.end - seg.start) * SAMPLE_RATE / 0.8) <= 1


def test_a_rerun_replaces_the_directory(make_data_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = make_data_dir("train", n_utts=2)
    out = tmp_path / "train_sp"
    speed_perturb_data_dir(src, out, [0.9, 1.1], progress=False)
    speed_perturb_data_dir(src, out, [0.95], progress=False)
    assert sorted(p.name for p in (out / "wav").iterdir()) == ["sp0.95-utt00.wav", "sp0.95-utt01.wav"]


def test_errors_name_the_file_and_leave_no_output(make_data_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = make_data_dir("train", n_utts=3)
    with pytest.raises(UserError, match="destination must differ"):
        speed_perturb_data_dir(src, src, [0.9])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="holds other files"):
        speed_perturb_data_dir(src, busy, [0.9])
    scp = src / "wav.scp"
    lines = scp.read_text().splitlines()
    scp.write_text("\n".join(lines[:2] + [lines[2].split()[0] + " " + str(tmp_path / "gone.wav")]) + "\n")
    out = tmp_path / "out"
    with pytest.raises(UserError, match="utterance utt02: no such audio file") as err:
        speed_perturb_data_dir(src, out, [0.9], progress=False)
    assert "gone.wav" in str(err.value)
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_an_id_that_cannot_be_a_file_name_names_its_line(make_data_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = make_data_dir("train", n_utts=2, durations=False)
    for name in ("wav.scp", "text", "utt2spk"):
        path = src / name
        path.write_text(path.read_text().replace("utt01", "utt01\x7f"))
    (src / "spk2utt").unlink()
    with pytest.raises(UserError, match="control character") as err:
        speed_perturb_data_dir(src, tmp_path / "out", [0.9], progress=False)
    assert f"{src / 'wav.scp'}:2" in str(err.value)


def test_cli(make_data_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = make_data_dir("train", n_utts=2)
    out = tmp_path / "train_sp"
    result = CliRunner().invoke(cli, ["data", "speed-perturb", str(src), str(out), "--factors", "0.9,1.0", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert f"{out}: 4 utterances (2 at speeds 0.9 1)" in result.output
    bad = subprocess.run([sys.executable, "-m", "speechtools.cli.main", "data", "speed-perturb", str(src), str(tmp_path / "x"),
                          "--factors", "9"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stdout == "" and not (tmp_path / "x").exists()
    assert bad.stderr.splitlines() == ["error: speed factor '9' is outside [0.5, 2.0]"]
