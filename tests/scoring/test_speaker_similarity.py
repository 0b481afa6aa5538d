"""Speaker similarity: the resemblyzer d-vector cosine on the real clip LJ001-0008, the centroid arithmetic with a
fake encoder, and ``score similarity`` end to end (tables, --json, --out-dir, bad input as one line, nothing written).

After resemblyzer's first call (~1.5 s warm-up) an embedding of the 1.8 s clip takes ~10 ms on one core.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Dict

import numpy as np
import pytest

from speechtools.audio.io import load_audio
from speechtools.scoring.judges.base import UndefinedMetric, Utterance
from speechtools.scoring.judges.speaker_similarity import RATE, CentroidSimilarity, SpeakerSimilarity, cosine

from .conftest import LJ_CLIP, add_noise, rows, wav_dir

pytest.importorskip("resemblyzer")


@pytest.fixture(scope="module")
def judge() -> SpeakerSimilarity:
    judge = SpeakerSimilarity()
    judge.load()
    return judge


class Wave:
    """An :class:`~speechtools.scoring.judges.base.Audio` stand-in holding its waveform (any rate asked gets it)."""

    def __init__(self, wav: np.ndarray) -> None:
        self.wav = wav

    def at(self, rate: int) -> np.ndarray:
        return self.wav

    def release(self) -> None:
        pass


def similarity(judge: SpeakerSimilarity, hyp: np.ndarray, ref: np.ndarray) -> float:
    utt = Utterance("u", Wave(hyp), Wave(ref))  # type: ignore[arg-type]
    value = judge.score(utt)["speaker_sim"]
    assert not utt.warnings
    return value


def test_a_clip_with_itself_is_one_and_noise_keeps_it_closer_than_another_voice(judge, real_clip_16k):
    clip = real_clip_16k
    itself = similarity(judge, clip, clip.copy())
    noisy = similarity(judge, add_noise(clip, 30), clip)
    # ×1.5 by resampling: higher pitch and formants, faster (the same words); a 110 Hz square-wave buzz
    shifted = np.interp(np.arange(0, len(clip), 1.5), np.arange(len(clip)), clip).astype(np.float32)
    buzz = (0.3 * np.sign(np.sin(2 * np.pi * 110 * np.arange(int(1.5 * RATE)) / RATE))).astype(np.float32)
    others = [similarity(judge, shifted, clip), similarity(judge, buzz, clip)]
    assert itself == pytest.approx(1.0, abs=1e-5)
    assert noisy > 0.8
    assert itself > noisy > max(others)
    assert judge.embed(clip, "x").shape == (256,)


def test_silence_and_short_speech_have_no_embedding(judge, real_clip_16k):
    utt = Utterance("u7", Wave(np.zeros(RATE, np.float32)), Wave(real_clip_16k))  # type: ignore[arg-type]
    assert math.isnan(judge.score(utt)["speaker_sim"])
    assert utt.warnings == ["utterance u7: Speaker similarity is undefined: the output has 0.00 s of speech after the VAD "
                            "(silent or shorter than 0.5 s)"]
    with pytest.raises(UndefinedMetric, match=r"the recording has 0\.\d\d s of speech"):
        judge.embed(real_clip_16k[: int(0.4 * RATE)], "the recording")


def test_cosine_is_computed_not_assumed_unit():
    assert cosine(np.array([3.0, 0.0]), np.array([2.0, 2.0])) == pytest.approx(math.sqrt(0.5))
    with pytest.raises(UndefinedMetric):
        cosine(np.zeros(2), np.ones(2))


def fake_centroid_judge(vectors: Dict[int, np.ndarray]) -> CentroidSimilarity:
    """A centroid judge whose 'encoder' maps a constant waveform of value k to ``vectors[k]`` (no VAD)."""
    judge = CentroidSimilarity()
    judge._preprocess = lambda wav: wav
    judge._encoder = lambda wav: vectors[int(wav[0])]
    return judge


def wave(k: int, seconds: float = 1.0) -> Wave:
    return Wave(np.full(int(seconds * RATE), k, np.float32))


def test_the_centroid_is_the_renormalised_mean_without_the_scored_id():
    s = math.sqrt(0.5)
    judge = fake_centroid_judge({0: np.array([1.0, 0.0]), 1: np.array([0.0, 1.0]), 2: np.array([s, s]), 3: np.array([2.0, 0.0])})
    warned = []
    judge.enroll({"a": wave(0), "b": wave(1), "c": wave(2), "quiet": wave(0, 0.2)}, warned.append)  # type: ignore[dict-item]
    assert sorted(judge.members) == ["a", "b", "c"]
    assert warned == ["reference utterance quiet: left out of the centroid: the recording has 0.20 s of speech after the VAD "
                      "(silent or shorter than 0.5 s)"]
    # all three at 0°, 90°, 45°: the centroid is at 45°; without a (0°): b and c, at 67.5°
    np.testing.assert_allclose(judge.centroid(), [s, s])
    np.testing.assert_allclose(judge.centroid(leave_out="a"), [math.cos(math.radians(67.5)), math.sin(math.radians(67.5))])
    scored = {uttid: judge.score(Utterance(uttid, wave(3)))["speaker_sim"] for uttid in ("x", "a", "b")}  # type: ignore[arg-type]
    assert scored["x"] == pytest.approx(s)  # a new id: against all three
    assert scored["a"] == pytest.approx(math.cos(math.radians(67.5)))  # a's own clip is not in its centroid
    assert scored["b"] == pytest.approx(math.cos(math.radians(22.5)))  # a and c: at 22.5°

    alone = fake_centroid_judge({0: np.array([1.0, 0.0])})
    alone.enroll({"a": wave(0)})  # type: ignore[dict-item]
    utt = Utterance("a", wave(0))  # type: ignore[arg-type]
    assert math.isnan(alone.score(utt)["speaker_sim"])
    assert utt.warnings == ["utterance a: Speaker similarity is undefined: no other reference utterance has an embedding for the centroid"]


@pytest.fixture
def sets(tmp_path):
    """REF: the clip as u1 and u2; HYP: u1 the same clip, u2 with white noise at 30 dB SNR."""
    clip = load_audio(LJ_CLIP, 22050)
    ref = wav_dir(tmp_path / "ref", {"u1": clip, "u2": clip})
    hyp = wav_dir(tmp_path / "hyp", {"u1": clip, "u2": add_noise(clip, 30)})
    return ref, hyp


def test_score_similarity_table_json_and_out_dir(sets, tmp_path, run_cli):
    ref, hyp = sets
    out, js = tmp_path / "scoring", tmp_path / "sim.json"
    code, stdout, err = run_cli(["score", "similarity", "--ref", str(ref), "--hyp", str(hyp), "--out-dir", str(out), "--json", str(js)])
    assert code == 0, err
    table = rows(stdout)
    assert table["utterance"] == ["Speaker similarity"] and table["u1"] == ["1.000"] and 0.8 < float(table["u2"][0]) < 1.0
    report = json.loads(js.read_text())
    assert list(report) == ["summary", "utterances", "notes"] and list(report["utterances"]) == ["u1", "u2"]
    u1, u2 = (report["utterances"][u]["speaker_sim"] for u in ("u1", "u2"))
    summary = report["summary"]["speaker_sim"]
    assert summary["value"] == pytest.approx((u1 + u2) / 2) and summary["n"] == 2 and summary["ci_low"] < summary["value"]
    assert sorted(p.name for p in out.iterdir()) == ["per_utt.tsv", "summary.md"]
    assert (out / "per_utt.tsv").read_text().splitlines()[0] == "uttid\tspeaker_sim"
    assert rows((out / "summary.md").read_text())["Speaker similarity"] == table["Speaker similarity"]


def test_score_similarity_against_the_centroid(sets, tmp_path, run_cli):
    ref, hyp = sets
    js = tmp_path / "sim.json"
    (hyp / "wav.scp").write_text(f"u1 {hyp / 'u1.wav'}\nnew {hyp / 'u2.wav'}\n")  # ids need not match
    code, stdout, err = run_cli(["score", "similarity", "--ref", str(ref), "--hyp", str(hyp), "--against", "centroid", "--json", str(js)])
    assert code == 0, err
    report = json.loads(js.read_text())
    # u1's centroid is u2's recording alone: the same clip; "new" is against both, also the same clip
    assert report["utterances"]["u1"]["speaker_sim"] == pytest.approx(1.0, abs=1e-5)
    assert 0.8 < report["utterances"]["new"]["speaker_sim"] < 1.0
    assert report["notes"] == ["centroid of 2 reference utterance(s)",
                               "1 output(s) share an id with a reference utterance, left out of their centroid"]
    assert stdout.splitlines()[-2:] == report["notes"]


@pytest.mark.parametrize("spoil", ["missing_key", "garbage_wav", "silent_refs"])
def test_bad_input_is_one_line_and_writes_nothing(sets, tmp_path, run_cli, spoil):
    ref, hyp = sets
    out, js = tmp_path / "scoring", tmp_path / "sim.json"
    args = ["--ref", str(ref), "--hyp", str(hyp), "--out-dir", str(out), "--json", str(js)]
    if spoil == "missing_key":
        (hyp / "wav.scp").write_text(f"u1 {hyp / 'u1.wav'}\nx9 {hyp / 'u2.wav'}\n")
        expected = f"error: {hyp / 'wav.scp'}: no hypothesis for utterance 'u2' (--mode strict; use present)"
    elif spoil == "garbage_wav":
        (hyp / "u2.wav").write_bytes(b"RIFF not really a wav file at all")
        expected = f"error: {hyp / 'u2.wav'}: utterance u2: cannot decode audio"
    else:
        quiet = wav_dir(tmp_path / "quiet", {"q1": np.zeros(22050, np.float32), "q2": np.zeros(22050, np.float32)})
        args[1] = str(quiet)
        args.extend(["--against", "centroid"])
        expected = f"error: {quiet / 'wav.scp'}: no reference utterance has enough speech for a speaker embedding"
    code, stdout, err = run_cli(["score", "similarity", *args])
    assert (code, stdout) == (1, "")
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(expected)
    assert not out.exists() and not js.exists()


def test_mode_present_skips_a_reference_without_an_output(sets, run_cli):
    ref, hyp = sets
    (hyp / "wav.scp").write_text(f"u1 {hyp / 'u1.wav'}\n")
    code, stdout, err = run_cli(["score", "similarity", "--ref", str(ref), "--hyp", str(hyp), "--mode", "present"])
    assert code == 0, err
    assert "u2" not in rows(stdout) and rows(stdout)["u1"] == ["1.000"]
    assert stdout.splitlines()[-1] == "1 reference utterance(s) without a hypothesis were skipped (--mode present)"


def test_a_missing_resemblyzer_is_one_line_before_any_work(tmp_path, run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "resemblyzer", None)
    js = tmp_path / "sim.json"
    code, stdout, err = run_cli(["score", "similarity", "--ref", str(tmp_path / "nowhere"), "--hyp", str(tmp_path), "--json", str(js)])
    assert (code, stdout, err.splitlines()) == (1, "", ["error: resemblyzer is not installed: pip install 'speechtools[eval]'"])
    assert not js.exists()
