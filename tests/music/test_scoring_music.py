"""``score ranking`` (MAP, HITS@k) and ``score classification`` (micro/macro F1) on hand-worked examples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from speechtools.cli.main import main
from speechtools.errors import UserError
from speechtools.scoring.classification import read_label_file, score_classification
from speechtools.scoring.ranking import average_precision, read_ranking_file, score_ranking, true_ranks

RANKING = """\
a a1 0 0.9
a a2 1 0.8
a a3 0 0.1
b b1 0 0.9
b b2 1 0.7
b b3 0 0.5
b b4 0 0.3
b b5 1 0.2
"""


def test_ranking_hand_worked():
    # group a: true ranked 2nd -> AP 1/2. group b: true at ranks 2 and 5 -> AP (1/2)(1/2 + 2/5) = 0.45
    groups, labels, scores = zip(*[(l.split()[0], int(l.split()[2]), float(l.split()[3])) for l in RANKING.splitlines()])
    r = score_ranking(groups, labels, scores)
    assert r.per_group == pytest.approx({"a": 0.5, "b": 0.45})
    assert r.map == pytest.approx(0.475)
    assert r.hits[1] == 0.0 and r.hits[5] == 1.0
    # HITS@k with two true candidates: b has 1 of 2 in the top 2..4
    assert score_ranking(groups, labels, scores, ks=(2,)).hits[2] == pytest.approx((1.0 + 0.5) / 2)


def test_ties_count_against_true_candidates():
    assert true_ranks(np.array([0.5, 0.5, 0.5]), np.array([1, 1, 0])).tolist() == [2, 3]
    assert average_precision(np.array([1, 2])) == 1.0
    r = score_ranking(["g"] * 50, [1] + [0] * 49, [0.3] * 50)  # a constant scorer ranks the true one last
    assert r.map == pytest.approx(1 / 50) and r.hits[25] == 0.0


def test_classification_hand_worked():
    ref = {"s1": frozenset({"bach"}), "s2": frozenset({"bach"}), "s3": frozenset({"mozart"}), "s4": frozenset({"haydn"})}
    hyp = {"s1": frozenset({"bach"}), "s2": frozenset({"mozart"}), "s3": frozenset({"mozart"}), "s4": frozenset({"bach"})}
    r = score_classification(ref, hyp)
    # bach: TP 1 FP 1 FN 1 -> F1 1/2; mozart: TP 1 FP 1 FN 0 -> 2/3; haydn: TP 0 FN 1 -> 0
    assert r.per_class["bach"][2] == pytest.approx(0.5)
    assert r.per_class["mozart"][2] == pytest.approx(2 / 3)
    assert r.macro_f1 == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert r.micro_f1 == pytest.approx(0.5) and r.accuracy == 0.5  # single-label: micro F1 = accuracy


def test_multilabel_micro_f1():
    ref = {"x": frozenset({"rock", "pop"}), "y": frozenset({"jazz"})}
    hyp = {"x": frozenset({"rock"}), "y": frozenset({"jazz", "pop"})}
    r = score_classification(ref, hyp)
    assert r.micro_f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))  # TP 2, FP 1 (pop on y), FN 1 (pop on x)
    assert r.accuracy == 0.0


def test_cli_and_file_errors(tmp_path, capsys):
    (tmp_path / "scores.txt").write_text(RANKING)
    with pytest.raises(SystemExit) as e:
        main(["score", "ranking", str(tmp_path / "scores.txt"), "--json", str(tmp_path / "m.json")])
    assert e.value.code == 0
    assert "MAP 47.50" in capsys.readouterr().out
    assert json.loads((tmp_path / "m.json").read_text())["map"] == pytest.approx(0.475)
    (tmp_path / "bad.txt").write_text("a a1 0 0.9\na a2 yes 0.8\n")
    with pytest.raises(UserError) as err:
        read_ranking_file(tmp_path / "bad.txt")
    assert err.value.line == 2
    (tmp_path / "nopos.txt").write_text("a a1 0 0.9\n")
    with pytest.raises(UserError, match="no true candidate"):
        score_ranking(*read_ranking_file(tmp_path / "nopos.txt"))
    (tmp_path / "ref.txt").write_text("s1 bach\ns2 mozart\n")
    (tmp_path / "hyp.txt").write_text("s1 bach\n")
    with pytest.raises(SystemExit) as e:
        main(["score", "classification", str(tmp_path / "ref.txt"), str(tmp_path / "hyp.txt")])
    assert e.value.code == 1 and "no hypothesis" in capsys.readouterr().err
    (tmp_path / "dup.txt").write_text("s1 bach\ns1 bach\n")
    with pytest.raises(UserError) as err:
        read_label_file(tmp_path / "dup.txt")
    assert err.value.line == 2
