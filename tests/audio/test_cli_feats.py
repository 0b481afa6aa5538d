"""``speechtools extract-feats`` / ``compute-stats`` end to end on a tiny data directory."""

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speechtools.audio.features import FeatureConfig, num_frames
from speechtools.audio.stats import load_stats

from .conftest import tone

CONF = Path(__file__).resolve().parents[2] / "conf" / "feats" / "mel22k.yaml"


@pytest.fixture
def data_dir(tmp_path, lj_clip):
    """Three utterances: the real clip, a 200 Hz tone, and a segment of the tone recording via a pipe."""
    root = tmp_path / "data"
    root.mkdir()
    sf.write(tmp_path / "tone.wav", tone(200.0, seconds=1.5), 22050)
    (root / "wav.scp").write_text(f"lj {lj_clip}\ntonerec cat {tmp_path / 'tone.wav'} |\n")
    (root / "segments").write_text("lj lj 0.0 -1\ntone_a tonerec 0.0 0.7\ntone_b tonerec 0.7 1.5\n")
    return root


def test_extract_then_stats(tmp_path, data_dir, run_cli):
    dump = tmp_path / "dump"
    code, out, err = run_cli(["extract-feats", data_dir, dump, "--conf", CONF, "--nj", "2"])
    assert code == 0, err
    assert "extracted 3 utterances, skipped 0" in out
    assert "extract-feats" in err  # the tqdm bar
    cfg = FeatureConfig()
    expected = {"lj": num_frames(39325, cfg), "tone_a": num_frames(15435, cfg), "tone_b": num_frames(17640, cfg)}
    for name, dim in (("mel", 80), ("energy", 1), ("pitch", 1), ("voiced", 1)):
        lines = (dump / f"{name}_shape").read_text().splitlines()
        assert lines == [f"{u} {t},{dim}" for u, t in sorted(expected.items())]
        assert (dump / f"{name}.scp").read_text().splitlines()[0] == f"lj {name}/lj.npy"
    pitch, voiced = np.load(dump / "pitch" / "tone_b.npy"), np.load(dump / "voiced" / "tone_b.npy")
    assert voiced.mean() > 0.8
    np.testing.assert_allclose(np.exp(pitch[voiced[:, 0] > 0]), 200.0, rtol=0.01)

    code, out, err = run_cli(["compute-stats", dump, "--out", tmp_path / "stats.npz"])
    assert code == 0, err
    stats = load_stats(tmp_path / "stats.npz")
    mels = np.concatenate([np.load(dump / "mel" / f"{u}.npy") for u in expected]).astype(np.float64)
    np.testing.assert_allclose(stats.mean["mel"], mels.mean(0), rtol=1e-6)
    np.testing.assert_allclose(stats.std["mel"], mels.std(0), rtol=1e-5)
    pitches = np.concatenate([np.load(dump / "pitch" / f"{u}.npy") for u in expected]).astype(np.float64)
    flags = np.concatenate([np.load(dump / "voiced" / f"{u}.npy") for u in expected])[:, 0] > 0
    np.testing.assert_allclose(stats.mean["pitch"], pitches[flags].mean(0), rtol=1e-6)
    assert stats.count["energy"] == sum(expected.values())


def test_extract_resumes_only_missing_or_truncated(tmp_path, data_dir, run_cli):
    dump = tmp_path / "dump"
    assert run_cli(["extract-feats", data_dir, dump, "--features", "mel,pitch", "--no-progress"])[0] == 0
    kept = dump / "mel" / "lj.npy"
    os.utime(kept, (1, 1))
    (dump / "pitch" / "tone_a.npy").unlink()
    truncated = dump / "mel" / "tone_b.npy"
    truncated.write_bytes(truncated.read_bytes()[:200])
    code, out, _ = run_cli(["extract-feats", data_dir, dump, "--features", "mel,pitch", "--no-progress"])
    assert code == 0 and "extracted 2 utterances, skipped 1" in out
    assert kept.stat().st_mtime == 1
    assert np.load(truncated).shape == (num_frames(17640, FeatureConfig()), 80)


def test_missing_audio_is_one_line_error_naming_utterance(tmp_path, data_dir, run_cli):
    (data_dir / "segments").unlink()
    (data_dir / "wav.scp").write_text(f"a {tmp_path / 'tone.wav'}\nb {tmp_path / 'gone.wav'}\n")
    code, _, err = run_cli(["extract-feats", data_dir, tmp_path / "dump", "--no-progress"])
    assert code == 1
    assert err.strip().splitlines() == [f"error: {tmp_path / 'gone.wav'}: utterance b: no such audio file"]
    assert not (tmp_path / "dump" / "mel.scp").exists()


def test_wrong_sample_rate_error_and_resample_override(tmp_path, run_cli):
    root = tmp_path / "data"
    root.mkdir()
    sf.write(tmp_path / "x.wav", tone(300.0, sample_rate=16000), 16000)
    (root / "wav.scp").write_text(f"x {tmp_path / 'x.wav'}\n")
    code, _, err = run_cli(["extract-feats", root, tmp_path / "d1", "--no-progress"])
    assert code == 1 and "utterance x: sample rate is 16000 Hz, expected 22050 Hz" in err
    code, _, err = run_cli(["extract-feats", root, tmp_path / "d2", "--set", "resample=true", "--no-progress"])
    assert code == 0, err
    assert (tmp_path / "d2" / "mel_shape").read_text() == f"x {num_frames(22050, FeatureConfig())},80\n"


def test_bad_config_key_and_feature_name_are_errors(tmp_path, data_dir, run_cli):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {CONF}\nn_mel: 40\n")
    code, _, err = run_cli(["extract-feats", data_dir, tmp_path / "dump", "--conf", bad])
    assert code == 1 and "n_mel" in err and str(bad) in err and "n_mels" in err
    code, _, err = run_cli(["extract-feats", data_dir, tmp_path / "dump", "--features", "mel,mfcc"])
    assert code == 2 and "unknown feature(s) mfcc" in err  # a bad option value is a usage error


def test_changed_config_in_same_store_is_refused(tmp_path, data_dir, run_cli):
    dump = tmp_path / "dump"
    assert run_cli(["extract-feats", data_dir, dump, "--features", "mel", "--no-progress"])[0] == 0
    code, _, err = run_cli(["extract-feats", data_dir, dump, "--features", "mel", "--set", "n_mels=40"])
    assert code == 1 and "n_mels: 80 -> 40" in err


def test_compute_stats_without_features_is_an_error(tmp_path, run_cli):
    code, _, err = run_cli(["compute-stats", tmp_path])
    assert code == 1 and "run extract-feats first" in err
