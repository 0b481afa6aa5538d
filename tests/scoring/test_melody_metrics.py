"""SongMASS melody metrics (PD, DD, MD) on worked examples; DTW against a plain double loop; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from speechtools.cli.main import main
from speechtools.scoring.melody_metrics import MelodyScores, dtw_distance, melody_pairs, score_melodies, time_series
from speechtools.scoring.report import write_json

REF = "60 132 [align] 128 132 62 132 [align] [sep]".split()   # C 1 beat, rest 1 beat, D 1 beat
HYP = "60 132 [align] 62 136 [align] [sep] 64 132 [sep]".split()  # C 1 beat, D 2 beats; a second sentence cut off


def loop_dtw(x, y):
    total = np.full((len(x) + 1, len(y) + 1), np.inf)
    total[0, 0] = 0
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            total[i, j] = abs(x[i - 1] - y[j - 1]) + min(total[i - 1, j], total[i, j - 1], total[i - 1, j - 1])
    return total[-1, -1]


def test_worked_example():
    assert melody_pairs(REF) == [(60, 132), (128, 132), (62, 132)]
    assert melody_pairs(HYP, max_sentences=1) == [(60, 132), (62, 136)]
    assert time_series(melody_pairs(REF)).tolist() == [60, 60, 60, 60, 62, 62]   # the rest holds C
    assert time_series(melody_pairs(HYP, 1)).tolist() == [60, 60, 62, 62, 62, 62]
    result = score_melodies([REF], [HYP])
    assert result.pd == pytest.approx(2 / 3)   # pitches {60, 128, 62} x 1/3 vs {60, 62} x 1/2
    assert result.dd == pytest.approx(1 / 2)   # all 1 beat vs half 1 beat, half 2 beats
    # Centred: ref 4 x -2/3, 2 x 4/3; hyp 2 x -4/3, 4 x 2/3; every path costs >= 16/3 (see the docs); / 6 samples
    assert result.md == pytest.approx(16 / 3 / 6)


def test_identical_melodies_score_perfectly_and_pairs_skip_junk():
    assert score_melodies([REF], [REF]).pd == 1.0 and score_melodies([REF], [REF]).md == 0.0
    assert melody_pairs("60 61 132 140 [align] 128 [sep] 133".split()) == [(61, 132)]


def test_vectorised_dtw_equals_the_double_loop():
    rng = np.random.default_rng(0)
    for n, m in [(1, 1), (1, 5), (7, 3), (12, 12), (20, 9)]:
        x, y = rng.normal(size=n), rng.normal(size=m)
        assert dtw_distance(x, y) == pytest.approx(loop_dtw(x, y))


def test_cli(tmp_path, capsys):
    (tmp_path / "ref").write_text(" ".join(REF) + "\n")
    (tmp_path / "hyp").write_text(" ".join(HYP) + "\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "melody", str(tmp_path / "ref"), str(tmp_path / "hyp"), "--json", str(tmp_path / "m.json")])
    assert exit_info.value.code == 0
    assert json.loads((tmp_path / "m.json").read_text())["pd"] == pytest.approx(2 / 3)
    (tmp_path / "hyp").write_text(" ".join(HYP) + "\n" + " ".join(HYP) + "\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "melody", str(tmp_path / "ref"), str(tmp_path / "hyp")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and err.splitlines() == [f"error: {tmp_path / 'hyp'}: 2 songs (lines) but the reference {tmp_path / 'ref'} has 1"]


def _report(path, songs) -> str:
    """A ``score melody --json`` report of per-song (PD, DD, MD) values, as :meth:`MelodyScores.report` writes it."""
    write_json(path, MelodyScores.of_songs(songs).report())
    return str(path)


def test_report_holds_the_summary_and_each_song(tmp_path):
    data = json.loads(Path(_report(tmp_path / "m.json", [(0.5, 0.25, 2.0), (0.3, 0.75, float("nan"))])).read_text())
    assert data["utterances"] == {"song_00001": {"melody_pd": 0.5, "melody_dd": 0.25, "melody_md": 2.0},
                                  "song_00002": {"melody_pd": 0.3, "melody_dd": 0.75, "melody_md": None}}
    assert {k: v["value"] for k, v in data["summary"].items()} == {"melody_pd": pytest.approx(0.4), "melody_dd": 0.5, "melody_md": 2.0}
    assert (data["songs"], data["pd"], data["md"]) == (2, pytest.approx(0.4), 2.0)


def test_score_paired_on_melody_reports_worked_example(tmp_path, run_cli):
    """Per song: PD +0.1 everywhere; DD +0.3 on the third song only; MD −1, +1, and no MD for the base's third song.
    Exact bootstrap facts: a constant difference has a zero-width interval; the mean of resampled (0, 0, 0.3) is 0 with
    probability (2/3)^3 and 0.3 with 1/27, both above 2.5 %, so the interval is [0, 0.3]."""
    base = _report(tmp_path / "base.json", [(0.5, 0.5, 2.0), (0.4, 0.6, 1.0), (0.3, 0.7, float("nan"))])
    new = _report(tmp_path / "new.json", [(0.6, 0.5, 1.0), (0.5, 0.6, 2.0), (0.4, 1.0, 3.0)])
    code, _, err = run_cli(["score", "paired", "--system", f"new={new}", "--system", f"base={base}", "--versus", "new,base",
                            "--metric", "melody_pd", "--metric", "melody_dd", "--metric", "melody_md", "--json", tmp_path / "p.json"])
    assert code == 0, err
    pd, dd, md = json.loads((tmp_path / "p.json").read_text())["differences"]
    assert (pd["difference"], pd["ci_low"], pd["ci_high"]) == pytest.approx((0.1, 0.1, 0.1))
    assert pd["verdict"] == "new ahead" and pd["a_better_share"] == 1.0
    assert (dd["difference"], dd["ci_low"], dd["ci_high"]) == pytest.approx((0.1, 0.0, 0.3))
    assert (md["utterances"], md["left_out"], md["difference"]) == (2, 1, pytest.approx(0.0))  # lower MD is better
    assert md["verdict"] == "no significant difference"
