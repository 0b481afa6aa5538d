"""Hostile scoring input (issue 16): missing hypotheses, undefined intervals, files without data; one line, right file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 22050


def tone_dir(root: Path, freqs: dict) -> Path:
    """A directory with wav.scp and one 0.3 s tone per utterance (``{uttid: Hz}``)."""
    root.mkdir()
    t = np.arange(int(0.3 * RATE)) / RATE
    lines = []
    for utt, freq in sorted(freqs.items()):
        sf.write(root / f"{utt}.wav", (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE)
        lines.append(f"{utt} {root / (utt + '.wav')}")
    (root / "wav.scp").write_text("\n".join(lines) + "\n")
    return root


def test_score_tts_missing_hypothesis_follows_the_wer_mode_rule(tmp_path, run_cli):
    ref = tone_dir(tmp_path / "ref", {"u1": 200, "u2": 220, "u3": 240})
    hyp = tone_dir(tmp_path / "hyp", {"u1": 205, "u3": 245, "x9": 300})
    code, out, err = run_cli(["score", "tts", "--ref", str(ref), "--hyp", str(hyp)])
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == f"error: {hyp / 'wav.scp'}: no hypothesis for utterance 'u2' (--mode strict; use present)"
    scoring = tmp_path / "out" / "scoring"  # made by the command
    code, out, err = run_cli(["score", "tts", "--ref", str(ref), "--hyp", str(hyp), "--mode", "present", "--out-dir", str(scoring)])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("MCD ") and lines[0].endswith(" over 2 utterances")
    assert lines[2:] == ["1 reference utterance(s) without a hypothesis were skipped (--mode present)",
                         "1 hypothesis utterance(s) without a reference were skipped"]
    assert (scoring / "summary.txt").read_text().splitlines() == lines
    assert [row.split("\t")[0] for row in (scoring / "per_utt.tsv").read_text().splitlines()] == ["uttid", "u1", "u3"]
    code, _, err = run_cli(["score", "tts", "--ref", str(ref), "--hyp", str(hyp), "--mode", "all"])
    assert code == 2 and err.startswith("error: Invalid value for '--mode'")


def test_score_tts_audio_too_short_names_the_wav_scp_line(tmp_path, run_cli):
    ref = tone_dir(tmp_path / "ref", {"u1": 200, "u2": 220})
    hyp = tone_dir(tmp_path / "hyp", {"u1": 205, "u2": 225})
    sf.write(hyp / "u2.wav", np.zeros(100, np.float32), RATE)
    code, _, err = run_cli(["score", "tts", "--ref", str(ref), "--hyp", str(hyp)])
    assert code == 1
    assert err.splitlines()[-1] == (f"error: {hyp / 'wav.scp'}:2: utterance u2: audio too short for one analysis frame: "
                                    "100 samples (0.005 s), need more than n_fft/2 = 512 (0.023 s)")


def test_an_empty_reference_file_is_blamed_not_the_hypotheses(tmp_path, run_cli):
    ref, hyp = tmp_path / "ref.txt", tmp_path / "hyp.txt"
    ref.write_text("")
    hyp.write_text("u1 a b\n")
    code, out, err = run_cli(["score", "wer", str(ref), str(hyp)])
    assert (code, out, err.splitlines()) == (1, "", [f"error: {ref}: no reference utterances in this file"])
    ref.write_text("u1\n")
    code, _, err = run_cli(["score", "wer", str(ref), str(hyp)])
    assert err.splitlines() == [f"error: {ref}: the scored references contain no words; the error rate is undefined"]
    ref.write_text("\n\n")
    code, _, err = run_cli(["score", "correction", "--src", str(hyp), "--hyp", str(hyp), "--ref", str(ref)])
    assert (code, err.splitlines()) == (1, [f"error: {ref}: no reference utterances in this file"])
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "wav.scp").write_text("")
    hyp_dir = tone_dir(tmp_path / "hyp", {"u1": 200})
    code, _, err = run_cli(["score", "tts", "--ref", str(empty), "--hyp", str(hyp_dir)])
    assert (code, err.splitlines()[-1]) == (1, f"error: {empty / 'wav.scp'}: no reference utterances in this file")


def sheet(path: Path, rows) -> str:
    path.write_text("system,utterance,listener,score\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return str(path)


def test_mos_with_one_rating_warns_and_writes_a_null_interval(tmp_path, run_cli):
    one = sheet(tmp_path / "one.csv", [("A", "u1", "l1", 4), ("B", "u1", "l1", 3), ("B", "u2", "l2", 5),
                                        ("B", "u1", "l2", 4), ("B", "u2", "l1", 2)])
    out_json = tmp_path / "mos.json"
    for method in ("crowdmos", "t", "normal", "bootstrap"):
        code, out, err = run_cli(["score", "mos", one, "--ci", method, "--json", str(out_json)])
        assert code == 0, err
        assert err.splitlines() == ["warning: system A: the 95% interval is undefined: only one rating"], method
        assert "|A|4.00|undefined|1|1|1|" in out.splitlines()
        data = json.loads(out_json.read_text())  # valid JSON: no NaN
        assert data["A"]["ci_low"] is None and data["A"]["ci_high"] is None and data["A"]["mean"] == 4.0
        assert data["B"]["ci_low"] < 3.5 < data["B"]["ci_high"]


def test_mos_with_zero_variance_warns_and_writes_a_null_interval(tmp_path, run_cli):
    flat = sheet(tmp_path / "flat.csv", [("A", u, l, 4) for u in ("u1", "u2") for l in ("l1", "l2")])
    out_json = tmp_path / "mos.json"
    for method in ("crowdmos", "t", "normal", "bootstrap"):
        code, out, err = run_cli(["score", "mos", flat, "--ci", method, "--json", str(out_json)])
        assert code == 0, err
        assert err.splitlines() == ["warning: system A: the 95% interval is undefined: all 4 ratings are 4 (zero variance)"]
        assert json.loads(out_json.read_text())["A"]["ci_low"] is None


def test_crowdmos_with_one_listener_says_why(tmp_path, run_cli):
    solo = sheet(tmp_path / "solo.csv", [("A", "u1", "l1", 4), ("A", "u2", "l1", 3)])
    code, out, err = run_cli(["score", "mos", solo])
    assert code == 0
    assert err.splitlines() == ["warning: system A: the 95% interval is undefined: "
                                "crowdmos needs at least 2 listeners and 2 utterances (use --ci t)"]


def test_json_ready_maps_undefined_numbers_to_null() -> None:
    from speechtools.scoring.report import json_ready

    assert json_ready({"a": float("nan"), "b": [np.float32(1.5), float("inf")], 3: np.int64(2)}) == {"a": None, "b": [1.5, None], "3": 2}


def test_correction_json_with_no_edits_is_valid(tmp_path, run_cli):
    ref = tmp_path / "ref.txt"
    ref.write_text("u1 a b c\n")
    src = tmp_path / "src.txt"
    src.write_text("u1 a x c\n")
    out_json = tmp_path / "m.json"
    code, _, err = run_cli(["score", "correction", "--src", str(src), "--hyp", str(src), "--ref", str(ref), "--json", str(out_json)])
    assert code == 0, err
    data = json.loads(out_json.read_text())
    assert data["p_edit"] is None and data["r_edit"] == 0.0  # an untouched source: P_edit undefined


def test_a_ranking_group_without_a_true_candidate_names_its_line(tmp_path, run_cli):
    scores = tmp_path / "scores.txt"
    scores.write_text("g1 c1 1 0.9\ng1 c2 0 0.2\ng2 c1 0 0.3\ng2 c2 0 0.1\n")
    code, out, err = run_cli(["score", "ranking", str(scores)])
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"error: {scores}:3: group 'g2' has no true candidate: none of its lines has label 1"]


def test_usage_mistakes_exit_2_with_one_line(tmp_path, run_cli):
    ref = tmp_path / "ref.txt"
    ref.write_text("u1 a b\n")
    rated = sheet(tmp_path / "s.csv", [("A", "u1", "l1", 4), ("A", "u2", "l2", 3)])
    cases = [
        (["score", "wer", str(ref), str(ref), "--filter-regex", "(["],
         "error: Invalid value for '--filter-regex': not a valid regular expression: unterminated character set "
         "at position 1 (see 'speechtools score wer --help')"),
        (["score", "mos", rated, "--drop-listeners", "loud<3"],
         "error: Invalid value for '--drop-listeners': rule 'loud<3' not understood (expected hidden-reference<X, "
         "ratings<N or corr<X) (see 'speechtools score mos --help')"),
        (["score", "mos", rated, "--drop-listeners", "hidden-reference<4"],
         "error: --drop-listeners hidden-reference<X needs --reference-system NAME (see 'speechtools score mos --help')"),
        (["score", "mos", rated, "--columns", "speaker=spk"],
         "error: Invalid value for '--columns': unknown column role 'speaker' (expected one of system, utterance, "
         "listener, score) (see 'speechtools score mos --help')"),
        (["score", "intelligibility", rated, "--ref", str(ref), "--columns", "system"],
         "error: Invalid value for '--columns': entry 'system' is not ROLE=HEADER (see 'speechtools score intelligibility --help')"),
    ]
    for argv, line in cases:
        code, out, err = run_cli(argv)
        assert (code, out, err.splitlines()) == (2, "", [line]), argv
