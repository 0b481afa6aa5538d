"""MOS/SMOS/CMOS: intervals against independently evaluated formulas, validation, screening, CLI."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest
from scipy import stats

from speechtools.errors import UserError
from speechtools.scoring.mos import (
    Ratings,
    cluster_bootstrap_interval,
    crowdmos_interval,
    crowdmos_variance,
    load_ratings,
    normal_interval,
    parse_rule,
    screen_listeners,
    summarize,
    t_interval,
)


def test_crowdmos_hand_worked_2x2():
    # Z = [[1, 2], [3, 5]] (rows listeners, columns utterances), worked by hand:
    # v_su = (0.25 + 1) / 2 = 0.625, v_wu = (1 + 2.25) / 2 = 1.625, v_swu = 2.1875
    # v_s = 0.5625, v_w = 1.5625, v_u = 0.0625; Var = 0.5625*8/16 + 1.5625*8/16 + 0.0625/4
    scores = np.array([1.0, 2.0, 3.0, 5.0])
    listeners = ["a", "a", "b", "b"]
    utts = ["x", "y", "x", "y"]
    assert math.isclose(crowdmos_variance(scores, listeners, utts), 1.078125)
    low, high = crowdmos_interval(scores, listeners, utts)
    half = 12.706204736174698 * math.sqrt(1.078125)  # t(0.975, 1)
    assert math.isclose(low, 2.75 - half) and math.isclose(high, 2.75 + half)


def _loop_crowdmos(rows):
    """Independent evaluation of Ribeiro et al.'s formulas with dictionaries and loops."""
    by_listener, by_utt = {}, {}
    for listener, utt, z in rows:
        by_listener.setdefault(listener, []).append(z)
        by_utt.setdefault(utt, []).append(z)
    v_su = statistics.mean(statistics.pvariance(v) for v in by_listener.values() if len(v) >= 2)
    v_wu = statistics.mean(statistics.pvariance(v) for v in by_utt.values() if len(v) >= 2)
    v_swu = statistics.pvariance([z for _, _, z in rows])
    v_s, v_w, v_u = max(v_swu - v_wu, 0), max(v_swu - v_su, 0), max(v_su + v_wu - v_swu, 0)
    t = len(rows)
    var = (v_s * sum(len(v) ** 2 for v in by_utt.values()) / t**2
           + v_w * sum(len(v) ** 2 for v in by_listener.values()) / t**2 + v_u / t)
    df = min(len(by_listener), len(by_utt)) - 1
    return stats.t.ppf(0.975, df) * math.sqrt(var)


def test_crowdmos_matches_loop_formula_on_incomplete_design():
    rng = np.random.default_rng(0)
    rows = []
    for listener in range(7):
        for utt in range(9):
            if rng.random() < 0.6:
                rows.append((f"L{listener}", f"u{utt}", float(rng.integers(1, 6))))
    scores = np.array([z for _, _, z in rows])
    low, high = crowdmos_interval(scores, [r[0] for r in rows], [r[1] for r in rows])
    half = _loop_crowdmos(rows)
    assert math.isclose((high - low) / 2, half, rel_tol=1e-9)


def test_t_and_normal_intervals_against_scipy():
    scores = np.array([3.0, 4.0, 4.0, 5.0, 2.0, 4.0, 3.0])
    low, high = t_interval(scores)
    ref_low, ref_high = stats.t.interval(0.95, len(scores) - 1, loc=scores.mean(), scale=stats.sem(scores))
    assert math.isclose(low, ref_low) and math.isclose(high, ref_high)
    low, high = normal_interval(scores)
    assert math.isclose(high - scores.mean(), 1.96 * np.std(scores) / math.sqrt(7))


def test_cluster_bootstrap_is_wider_than_per_rating_when_listeners_differ():
    rng = np.random.default_rng(1)
    listeners, utts, scores = [], [], []
    for listener in range(10):
        bias = rng.normal(0, 0.8)
        for utt in range(20):
            listeners.append(f"L{listener}")
            utts.append(f"u{utt}")
            scores.append(3 + bias + rng.normal(0, 0.3))
    scores = np.array(scores)
    boot = cluster_bootstrap_interval(scores, listeners, utts, replications=1000, seed=2)
    per_rating = t_interval(scores)
    assert boot[0] < scores.mean() < boot[1]
    assert (boot[1] - boot[0]) > 2 * (per_rating[1] - per_rating[0])
    crowd = crowdmos_interval(scores, listeners, utts)
    assert (crowd[1] - crowd[0]) > 2 * (per_rating[1] - per_rating[0])


def _sheet(path, rows, sep=","):
    path.write_text("\n".join(sep.join(map(str, r)) for r in rows) + "\n", encoding="utf-8")
    return str(path)


def test_validation_errors_name_sheet_and_row(tmp_path):
    head = ["system", "utterance", "listener", "score"]
    bad = _sheet(tmp_path / "a.csv", [head, ["A", "u1", "L1", 4], ["A", "u2", "L1", 6]])
    with pytest.raises(UserError) as exc:
        load_ratings([bad], dict(zip(head, head)), "mos")
    assert (exc.value.path, exc.value.line) == (bad, 3) and "outside the MOS scale 1..5" in exc.value.message
    first = _sheet(tmp_path / "b.csv", [head, ["A", "u1", "L1", 4]])
    dup = _sheet(tmp_path / "c.csv", [head, ["B", "u1", "L1", 4], ["A", "u1", "L1", 5]])
    with pytest.raises(UserError) as exc:
        load_ratings([first, dup], dict(zip(head, head)), "mos")
    assert exc.value.line == 3 and f"first at {first}:2" in exc.value.message
    empty = _sheet(tmp_path / "d.csv", [head, [" ", "u1", "L1", 4]])
    with pytest.raises(UserError, match="empty system"):
        load_ratings([empty], dict(zip(head, head)), "mos")
    with pytest.raises(UserError, match="missing column 'score'"):
        load_ratings([_sheet(tmp_path / "e.csv", [head[:3], ["A", "u", "L"]])], dict(zip(head, head)), "mos")
    with pytest.raises(UserError, match="not a number"):
        load_ratings([_sheet(tmp_path / "f.csv", [head, ["A", "u", "L", "good"]])], dict(zip(head, head)), "mos")
    with pytest.raises(UserError, match="CMOS scale -3..3"):
        load_ratings([_sheet(tmp_path / "g.csv", [head, ["A", "u", "L", 4]])], dict(zip(head, head)), "cmos")


def _ratings(rows):
    return Ratings([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                   np.array([float(r[3]) for r in rows]), [f"s:{i}" for i in range(len(rows))])


def test_screening_rules():
    rows = [("ref", "u1", "good", 5), ("ref", "u2", "good", 4), ("tts", "u1", "good", 3),
            ("ref", "u1", "bad", 3), ("ref", "u2", "bad", 4), ("tts", "u1", "bad", 4),
            ("tts", "u2", "few", 2)]
    kept, dropped = screen_listeners(_ratings(rows), [parse_rule("hidden-reference<4")], "ref")
    assert [d.listener for d in dropped] == ["bad"] and "3.50 < 4" in dropped[0].reason
    assert sorted(set(kept.listener)) == ["few", "good"]
    _, dropped = screen_listeners(_ratings(rows), [parse_rule("ratings<2")], None)
    assert [d.listener for d in dropped] == ["few"]
    with pytest.raises(UserError, match="reference-system"):
        screen_listeners(_ratings(rows), [parse_rule("hidden-reference<4")], None)
    with pytest.raises(UserError, match="not understood"):
        parse_rule("hidden-ref>4")
    with pytest.raises(UserError, match="without ratings"):
        screen_listeners(_ratings(rows[:3] + [("x", "u1", "solo", 1)]), [parse_rule("ratings<2")], None)


def test_cmos_wilcoxon_matches_scipy():
    rows = [("B", f"u{i}", f"L{i % 3}", s) for i, s in enumerate([1, 2, 0, 1, -1, 2, 3, 1, 0, 1])]
    result = summarize(_ratings(rows), "cmos", "t")["B"]
    assert result.mean == pytest.approx(1.0)
    expected = stats.wilcoxon([1, 2, 0, 1, -1, 2, 3, 1, 0, 1], zero_method="pratt").pvalue
    assert result.p_value == pytest.approx(expected)


def test_mos_cli_table_json_plot(tmp_path, run_cli):
    head = ["sys", "wav", "worker", "rating"]
    rows = [head]
    for listener, bias in (("L1", 0), ("L2", 1), ("L3", -1)):
        for utt in range(4):
            rows.append(["good", f"u{utt}", listener, min(5, 4 + bias + utt % 2)])
            rows.append(["poor", f"u{utt}", listener, max(1, 2 + bias)])
    half = len(rows) // 2
    a = _sheet(tmp_path / "a.tsv", rows[:half], sep="\t")
    b = _sheet(tmp_path / "b.tsv", [head] + rows[half:], sep="\t")
    out_json, out_png = tmp_path / "mos.json", tmp_path / "mos.png"
    code, out, err = run_cli(["score", "mos", a, b, "--columns", "system=sys,utterance=wav",
                              "--columns", "listener=worker,score=rating", "--ci", "t",
                              "--json", str(out_json), "--plot", str(out_png)])
    assert code == 0, err
    table = out.splitlines()
    assert table[0] == "|system|MOS|95% CI|ratings|listeners|utterances|"
    assert table[2].startswith("|good|") and table[3].startswith("|poor|")
    data = json.loads(out_json.read_text())
    good = np.array([min(5, 4 + bias + u % 2) for bias in (0, 1, -1) for u in range(4)], dtype=float)
    lo, hi = stats.t.interval(0.95, len(good) - 1, loc=good.mean(), scale=stats.sem(good))
    assert data["good"]["mean"] == pytest.approx(good.mean())
    assert data["good"]["ci_low"] == pytest.approx(lo) and data["good"]["ci_high"] == pytest.approx(hi)
    assert (data["good"]["n_ratings"], data["good"]["n_listeners"], data["good"]["n_utterances"]) == (12, 3, 4)
    assert f"|good|{good.mean():.2f} ± {(hi - lo) / 2:.2f}|" in out
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mos_cli_error_is_one_line(tmp_path, run_cli):
    sheet = _sheet(tmp_path / "s.csv", [["system", "utterance", "listener", "score"], ["A", "u", "L", 9]])
    code, out, err = run_cli(["score", "mos", sheet])
    assert code == 1 and out == ""
    assert err.strip() == f"error: {sheet}:2: rating 9 is outside the MOS scale 1..5"


def test_cmos_cli_reports_sign_and_p_value(tmp_path, run_cli):
    rows = [["system", "utterance", "listener", "score"]]
    rows += [["new", f"u{i}", f"L{i % 4}", s] for i, s in enumerate([2, 1, 3, 1, 2, 0, 1, 2])]
    rows += [["old", f"u{i}", f"L{i % 4}", s] for i, s in enumerate([-1, 0, -2, 1, -1, 0, -1, -1])]
    sheet = _sheet(tmp_path / "cmos.csv", rows)
    code, out, err = run_cli(["score", "mos", sheet, "--scale", "cmos", "--ci", "t"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "|system|CMOS|95% CI|ratings|listeners|utterances|p (Wilcoxon)|"
    p_new = stats.wilcoxon([2, 1, 3, 1, 2, 0, 1, 2], zero_method="pratt").pvalue
    assert lines[2].startswith("|new|1.50 ± ") and lines[2].endswith(f"|8|4|8|{p_new:.3g}|")
    assert lines[3].startswith("|old|-0.62 ± ")
