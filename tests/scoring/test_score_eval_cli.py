"""``score vocoder`` and ``score naturalness`` end to end: tables, --out-dir and --json, and bad input as one line with nothing written.

The audio is the first 1.15 s of the real recording LJ001-0008 (public domain): speechmos doubles
it to 9.2 s and scores one window, so a DNSMOS call takes ~0.3 s.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import soundfile as sf

from speechtools.audio.io import load_audio
from speechtools.scoring.judges.naturalness import dnsmos

from .conftest import LJ_CLIP, RATE, add_noise, rows, wav_dir


@pytest.fixture
def pair(tmp_path):
    """Real recordings u1, u2 and their 'copy-synthesis': u1 identical, u2 with white noise at 10 dB SNR."""
    clip = load_audio(LJ_CLIP, RATE)[: int(1.15 * RATE)]
    ref = wav_dir(tmp_path / "ref", {"u1": clip, "u2": clip}, {"u1": "has never been", "u2": "has never been"})
    hyp = wav_dir(tmp_path / "hyp", {"u1": clip, "u2": add_noise(clip, 10)})
    return ref, hyp


def test_score_vocoder_tables_out_dir_and_json(pair, tmp_path, run_cli):
    ref, hyp = pair
    out, js = tmp_path / "scoring", tmp_path / "scores.json"
    code, stdout, err = run_cli(["score", "vocoder", "--ref", str(ref), "--hyp", str(hyp), "--out-dir", str(out), "--json", str(js)])
    assert code == 0, err
    table = rows(stdout)
    assert table["utterance"] == ["MCD (dB)", "PESQ-WB", "STOI", "DNSMOS P.808", "P.835 OVRL", "P.835 SIG", "P.835 BAK"]
    assert table["u1"][:3] == ["0.00", "4.64", "1.000"]  # a copy of the recording: the known extremes
    assert float(table["u2"][0]) > 0.5 and float(table["u2"][1]) < 2.0 and float(table["u2"][2]) < 0.99
    report = json.loads(js.read_text())
    assert list(report) == ["summary", "utterances", "notes"] and list(report["utterances"]) == ["u1", "u2"]
    u1, u2 = report["utterances"]["u1"], report["utterances"]["u2"]
    assert u1["pesq_wb"] == pytest.approx(4.644, abs=0.001) and u1["mcd_db"] == pytest.approx(0.0, abs=1e-6)
    pesq = report["summary"]["pesq_wb"]
    assert pesq["value"] == pytest.approx((u1["pesq_wb"] + u2["pesq_wb"]) / 2) and pesq["interval"] == "t" and pesq["n"] == 2
    clean = dnsmos(load_audio(ref / "u1.wav", 16000, resample=True))  # the judge gives what speechmos gives
    assert u1["p808_mos"] == pytest.approx(clean["p808_mos"]) and u1["ovrl_mos"] == pytest.approx(clean["ovrl_mos"])
    assert u1["p808_mos"] > u2["p808_mos"]
    assert sorted(p.name for p in out.iterdir()) == ["per_utt.tsv", "summary.md"]
    assert (out / "per_utt.tsv").read_text().splitlines()[0] == "uttid\tmcd_db\tpesq_wb\tstoi\tp808_mos\tovrl_mos\tsig_mos\tbak_mos"
    assert rows((out / "summary.md").read_text()) == {k: v for k, v in rows(stdout).items() if k in rows((out / "summary.md").read_text())}


def test_a_pair_that_is_not_time_aligned_has_no_pesq_or_stoi(pair, tmp_path, run_cli):
    ref, hyp = pair
    longer = np.concatenate([load_audio(hyp / "u2.wav", RATE), np.zeros(RATE // 10, np.float32)])  # 1.25 s: one DNSMOS window
    sf.write(hyp / "u2.wav", longer, RATE, subtype="FLOAT")
    js = tmp_path / "scores.json"
    code, stdout, err = run_cli(["score", "vocoder", "--ref", str(ref), "--hyp", str(hyp), "--json", str(js)])
    assert code == 0, err
    assert "warning: utterance u2: PESQ/STOI is undefined: the output (1.250 s) and the recording (1.150 s) differ" in err
    assert rows(stdout)["u2"][1:3] == ["–", "–"]
    u2 = json.loads(js.read_text())["utterances"]["u2"]
    assert u2["pesq_wb"] is None and u2["stoi"] is None and u2["mcd_db"] > 0  # MCD aligns with DTW
    summary = json.loads(js.read_text())["summary"]["pesq_wb"]
    assert (summary["n"], summary["n_undefined"], summary["ci_low"]) == (1, 1, None)


def test_mismatched_keys_follow_the_mode_rule(pair, tmp_path, run_cli):
    ref, hyp = pair
    (hyp / "wav.scp").write_text(f"u1 {hyp / 'u1.wav'}\nx9 {hyp / 'u2.wav'}\n")
    out, js = tmp_path / "scoring", tmp_path / "scores.json"
    args = ["score", "vocoder", "--ref", str(ref), "--hyp", str(hyp), "--out-dir", str(out), "--json", str(js)]
    code, stdout, err = run_cli(args)
    assert (code, stdout, err.splitlines()[-1]) == (1, "", f"error: {hyp / 'wav.scp'}: no hypothesis for utterance 'u2' (--mode strict; use present)")
    assert not out.exists() and not js.exists()
    code, stdout, err = run_cli(args + ["--mode", "present"])
    assert code == 0, err
    assert list(rows(stdout))[:3] == ["utterance", "---", "u1"] and "u2" not in rows(stdout)
    assert stdout.splitlines()[-2:] == ["1 reference utterance(s) without a hypothesis were skipped (--mode present)",
                                       "1 hypothesis utterance(s) without a reference were skipped"]
    assert json.loads(js.read_text())["notes"] == stdout.splitlines()[-2:]


@pytest.mark.parametrize("spoil", ["missing_ref", "garbage_wav", "wav_scp_with_asr", "no_text_line"])
def test_bad_input_is_one_line_and_writes_nothing(pair, tmp_path, run_cli, spoil):
    ref, hyp = pair
    out, js = tmp_path / "scoring", tmp_path / "scores.json"
    args = ["--ref", str(ref), "--hyp", str(hyp)]
    if spoil == "missing_ref":
        args[1], expected = str(tmp_path / "nowhere"), f"error: {tmp_path / 'nowhere'}: no such data directory or wav.scp file"
    elif spoil == "garbage_wav":
        (hyp / "u2.wav").write_bytes(b"RIFF not really a wav file at all")
        expected = f"error: {hyp / 'u2.wav'}: utterance u2: cannot decode audio"
    elif spoil == "wav_scp_with_asr":
        args = ["--ref", str(ref / "wav.scp"), "--hyp", str(hyp), "--asr"]
        expected = f"error: {ref / 'wav.scp'}: --asr needs the reference transcripts: give --ref as a data directory with a text file"
    else:
        (ref / "text").write_text("u1 has never been\n")
        args.append("--asr")
        expected = f"error: {ref / 'text'}: no transcript for utterance 'u2' (--asr)"
    if "--asr" in args:
        pytest.importorskip("pocketsphinx")
    code, stdout, err = run_cli(["score", "vocoder", *args, "--out-dir", str(out), "--json", str(js)])
    assert (code, stdout) == (1, "")
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(expected)
    assert not out.exists() and not js.exists()


def test_asr_wer_of_the_output_against_the_reference_text(pair, tmp_path, run_cli):
    pytest.importorskip("pocketsphinx")
    from speechtools.scoring.normalize import Normalizer
    from speechtools.scoring.wer import score_corpus

    ref, hyp = pair
    out, js = tmp_path / "scoring", tmp_path / "scores.json"
    code, stdout, err = run_cli(["score", "vocoder", "--ref", str(ref), "--hyp", str(hyp), "--asr", "--out-dir", str(out), "--json", str(js)])
    assert code == 0, err
    heard = dict(line.split(" ", 1) if " " in line else (line, "") for line in (out / "asr_hyp.txt").read_text().splitlines())
    assert sorted(heard) == ["u1", "u2"]
    norm = Normalizer(ignore_case=True, remove_punct=True)
    expected = score_corpus({u: norm("has never been") for u in heard}, {u: norm(t) for u, t in heard.items()})
    report = json.loads(js.read_text())
    assert report["summary"]["asr_wer"]["value"] == pytest.approx(expected.wer, abs=1e-4)  # pooled, as score wer
    assert report["summary"]["asr_wer"]["statistic"] == "pooled" and "ASR WER % (pooled)" in rows(stdout)


def test_score_naturalness_needs_no_reference(pair, tmp_path, run_cli):
    ref, _ = pair
    js = tmp_path / "dnsmos.json"
    code, stdout, err = run_cli(["score", "naturalness", "--hyp", str(ref / "wav.scp"), "--json", str(js)])
    assert code == 0, err
    assert rows(stdout)["utterance"] == ["DNSMOS P.808", "P.835 OVRL", "P.835 SIG", "P.835 BAK"]
    report = json.loads(js.read_text())
    assert report["utterances"]["u1"] == report["utterances"]["u2"]  # the same clip twice
    assert report["summary"]["p808_mos"]["ci_low"] is None  # two equal values: the interval is undefined, not zero-width
    assert rows(stdout)["DNSMOS P.808"][1] == "undefined"


def test_a_missing_optional_package_is_one_line_before_any_work(pair, tmp_path, run_cli, monkeypatch):
    for name in ("speechmos", "speechmos.dnsmos"):
        monkeypatch.setitem(sys.modules, name, None)
    js = tmp_path / "dnsmos.json"
    code, stdout, err = run_cli(["score", "naturalness", "--hyp", str(tmp_path / "nowhere"), "--json", str(js)])
    assert (code, stdout, err.splitlines()) == (1, "", ["error: speechmos is not installed: pip install 'speechtools[eval]'"])
    assert not js.exists()


def test_score_tts_adds_the_judges_that_need_no_alignment(pair, tmp_path, run_cli):
    ref, hyp = pair
    js = tmp_path / "tts.json"
    code, stdout, err = run_cli(["score", "tts", "--ref", str(ref), "--hyp", str(hyp), "--dnsmos", "--asr", "--json", str(js)])
    assert code == 0, err
    report = json.loads(js.read_text())
    assert list(report["summary"]) == ["mcd_db", "log_f0_rmse", "p808_mos", "ovrl_mos", "sig_mos", "bak_mos", "asr_wer", "asr_ir"]
    assert report["utterances"]["u1"]["mcd_db"] == pytest.approx(0.0, abs=1e-4)  # identical to its recording
    assert report["summary"]["log_f0_rmse"]["statistic"] == "pooled"
    # the same DNSMOS as score naturalness gives, and the same WER judge as score vocoder --asr
    natural = tmp_path / "natural.json"
    assert run_cli(["score", "naturalness", "--hyp", str(hyp), "--json", str(natural)])[0] == 0
    assert report["summary"]["p808_mos"] == json.loads(natural.read_text())["summary"]["p808_mos"]
    assert report["summary"]["asr_wer"]["statistic"] == "pooled" and "ASR WER %" in stdout
    # without the flags, only the two acoustic metrics
    plain = tmp_path / "plain.json"
    assert run_cli(["score", "tts", "--ref", str(ref), "--hyp", str(hyp), "--json", str(plain)])[0] == 0
    assert list(json.loads(plain.read_text())["summary"]) == ["mcd_db", "log_f0_rmse"]
