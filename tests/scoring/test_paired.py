"""score paired: the paired bootstrap of two systems (each one or more runs) against brute force and hand-worked figures."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pytest

from speechtools.errors import UserError
from speechtools.scoring.judges.asr_wer import reference_words
from speechtools.scoring.paired import paired_difference, read_run


def _report(path: Path, metric: str, values: Dict[str, Optional[float]], figure: Optional[float] = None,
            statistic: str = "mean") -> Path:
    defined = [v for v in values.values() if v is not None]
    value = figure if figure is not None else float(np.mean(defined))
    path.write_text(json.dumps({"summary": {metric: {"value": value, "statistic": statistic}},
                                "utterances": {u: {metric: v} for u, v in values.items()}}))
    return path


def test_one_run_each_matches_the_exact_bootstrap_distribution(tmp_path: Path):
    a = read_run(_report(tmp_path / "a.json", "mcd_db", {"u1": 1.0, "u2": 2.0, "u3": 3.0, "u4": 4.0}))
    b = read_run(_report(tmp_path / "b.json", "mcd_db", {"u1": 2.0, "u2": 2.0, "u3": 2.0, "u4": 2.5}))
    r = paired_difference("a", [a], "b", [b], "mcd_db", replications=100_000, seed=3)
    assert (r.value_a, r.value_b, r.difference) == (2.5, 2.125, 0.375) and r.utterances == 4 and r.left_out == 0
    # brute force: all 4^4 equally likely resamples of the per-utterance differences (-1, 0, 1, 1.5)
    diff = np.array([-1.0, 0.0, 1.0, 1.5])
    exact = np.array([diff[list(idx)].mean() for idx in itertools.product(range(4), repeat=4)])
    assert abs(r.a_better_share - (exact < 0).mean()) < 0.005  # MCD: lower is better, so a is better when a - b < 0
    assert r.ci_low == pytest.approx(np.percentile(exact, 2.5), abs=0.07)
    assert r.ci_high == pytest.approx(np.percentile(exact, 97.5), abs=0.07)
    assert r.verdict == "no significant difference"


def test_runs_are_averaged_per_utterance_and_a_clear_gap_names_the_system_ahead(tmp_path: Path):
    ids = [f"u{i}" for i in range(30)]
    rng = np.random.default_rng(0)
    base = rng.normal(4.0, 0.5, size=30)
    a = [read_run(_report(tmp_path / f"a{s}.json", "p808_mos", dict(zip(ids, base + 0.3 + 0.05 * s)))) for s in range(3)]
    b = [read_run(_report(tmp_path / "b.json", "p808_mos", dict(zip(ids, base))))]
    r = paired_difference("a", a, "b", b, "p808_mos", replications=2000)
    assert r.runs_a == 3 and r.value_a == pytest.approx(base.mean() + 0.35) and r.difference == pytest.approx(0.35)
    assert r.ci_low == pytest.approx(0.35) and r.ci_high == pytest.approx(0.35)  # a constant difference: no spread
    assert r.verdict == "a ahead" and r.a_better_share == 1.0  # DNSMOS: higher is better
    assert paired_difference("b", b, "a", a, "p808_mos", replications=2000).verdict == "a ahead"


def test_pooled_wer_is_weighted_by_reference_words_and_checked_against_the_report(tmp_path: Path):
    texts = {"u1": "The cat sat.", "u2": "Hello, world and all of you", "u3": "one"}
    words = {u: reference_words(t) for u, t in texts.items()}
    assert words == {"u1": 3, "u2": 6, "u3": 1}
    errors_a, errors_b = {"u1": 1, "u2": 0, "u3": 1}, {"u1": 0, "u2": 3, "u3": 0}
    pooled = lambda errors: 100.0 * sum(errors.values()) / sum(words.values())  # noqa: E731
    a = read_run(_report(tmp_path / "a.json", "asr_wer", {u: 100.0 * e / words[u] for u, e in errors_a.items()}, pooled(errors_a), "pooled"))
    b = read_run(_report(tmp_path / "b.json", "asr_wer", {u: 100.0 * e / words[u] for u, e in errors_b.items()}, pooled(errors_b), "pooled"))
    r = paired_difference("a", [a], "b", [b], "asr_wer", words=words, replications=500)
    assert r.value_a == pytest.approx(20.0) and r.value_b == pytest.approx(30.0) and r.difference == pytest.approx(-10.0)
    with pytest.raises(UserError, match="pooled over reference words: give --ref"):
        paired_difference("a", [a], "b", [b], "asr_wer")
    with pytest.raises(UserError, match="the per-utterance values give"):  # other texts than the ones scored
        paired_difference("a", [a], "b", [b], "asr_wer", words={"u1": 1, "u2": 1, "u3": 1})
    rmse = read_run(_report(tmp_path / "f.json", "log_f0_rmse", {"u1": 0.1, "u2": 0.2}, 0.17, "pooled"))
    with pytest.raises(UserError, match="pooled figure without per-utterance weights"):
        paired_difference("a", [rmse], "b", [rmse], "log_f0_rmse")


def test_utterances_without_a_value_in_some_run_are_left_out_and_counted(tmp_path: Path):
    a1 = read_run(_report(tmp_path / "a1.json", "mcd_db", {"u1": 1.0, "u2": 2.0, "u3": None, "u4": 4.0}))
    a2 = read_run(_report(tmp_path / "a2.json", "mcd_db", {"u1": 1.0, "u2": 2.0, "u3": 3.0}))
    b = read_run(_report(tmp_path / "b.json", "mcd_db", {"u1": 2.0, "u2": 2.0, "u3": 2.0, "u4": 2.0}))
    r = paired_difference("a", [a1, a2], "b", [b], "mcd_db", replications=200)
    assert (r.utterances, r.left_out, r.value_a, r.value_b) == (2, 2, 1.5, 2.0)
    with pytest.raises(UserError, match="a bootstrap needs at least 2"):
        paired_difference("a", [a1], "b", [read_run(_report(tmp_path / "c.json", "mcd_db", {"u1": 1.0}))], "mcd_db")


def test_the_command_writes_table_and_json_and_refuses_bad_input_in_one_line(tmp_path: Path, run_cli):
    a = _report(tmp_path / "a.json", "mcd_db", {"u1": 1.0, "u2": 2.0, "u3": 1.5})
    b = _report(tmp_path / "b.json", "mcd_db", {"u1": 3.0, "u2": 3.5, "u3": 2.5})
    out, js = tmp_path / "p.md", tmp_path / "p.json"
    code, stdout, err = run_cli(["score", "paired", "--system", f"a={a}", "--system", f"b={b}", "--versus", "a,b", "--metric", "mcd_db",
                                 "--replications", "500", "--out", out, "--json", js])
    assert code == 0, err
    data = json.loads(js.read_text())["differences"][0]
    assert data["difference"] == pytest.approx(-1.5) and data["verdict"] == "a ahead" and "a ahead" in out.read_text() == stdout
    code, _, err = run_cli(["score", "paired", "--system", f"a={a}", "--system", f"b={b}", "--versus", "a,b", "--metric", "mcd"])
    assert code == 1 and err.count("\n") == 1 and "a.json" in err and "no per-utterance values of 'mcd' (it has: mcd_db)" in err
    code, _, err = run_cli(["score", "paired", "--system", f"a={a}", "--versus", "a,c", "--metric", "mcd_db"])
    assert code == 1 and err.count("\n") == 1 and "no system named 'c'" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"summary": {"mcd_db": {"value": 1}}}')
    code, _, err = run_cli(["score", "paired", "--system", f"a={bad}", "--system", f"b={b}", "--versus", "a,b", "--metric", "mcd_db",
                            "--out", tmp_path / "x.md"])
    assert code == 1 and err.count("\n") == 1 and "bad.json" in err and "per-utterance values" in err and not (tmp_path / "x.md").exists()
    code, _, err = run_cli(["score", "paired", "--system", f"a={a}", "--system", f"b={b}", "--versus", "a,b", "--metric", "asr_wer",
                            "--ref", tmp_path / "nowhere"])
    assert code == 1 and err.count("\n") == 1 and "no text file" in err
