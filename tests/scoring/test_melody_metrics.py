"""SongMASS melody metrics (PD, DD, MD) on worked examples; DTW against a plain double loop; the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from speechtools.cli.main import main
from speechtools.scoring.melody_metrics import dtw_distance, melody_pairs, score_melodies, time_series

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
