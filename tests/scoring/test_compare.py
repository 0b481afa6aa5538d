"""``score compare``: the table of systems from score reports and the head-to-heads, against hand-worked cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from speechtools.errors import UserError
from speechtools.scoring.compare import System, cell, head_to_head, load_systems, metric_keys, read_report
from speechtools.scoring.judges.metrics import METRICS


def figure(value, low=None, high=None):
    return {"value": value, "ci_low": low, "ci_high": high, "n": 3}


def report(path: Path, summary: dict) -> Path:
    path.write_text(json.dumps({"summary": summary, "utterances": {}}))
    return path


def test_directions_of_the_known_metrics():
    lower = {k for k, m in METRICS.items() if m.lower_is_better}
    assert lower == {"mcd_db", "log_f0_rmse", "asr_wer", "params_m", "gmacs", "latency_ms", "rtf", "melody_md"}


def test_head_to_head_counts_each_metric_in_its_direction():
    a = System("a", {"mcd_db": figure(5.0), "pesq_wb": figure(2.0), "stoi": figure(0.9), "asr_wer": figure(10.0),
                     "p808_mos": figure(3.0), "custom": figure(1.0)})
    b = System("b", {"mcd_db": figure(6.0), "pesq_wb": figure(2.5), "stoi": figure(0.9), "asr_wer": figure(None),
                     "p808_mos": figure(2.9), "custom": figure(0.0)})
    duel = head_to_head(a, b, ["mcd_db", "pesq_wb", "stoi", "asr_wer", "p808_mos", "custom", "ovrl_mos"])
    assert duel.ahead == ["mcd_db", "p808_mos"]   # lower MCD, higher DNSMOS
    assert duel.behind == ["pesq_wb"]
    assert duel.tied == ["stoi"]
    assert duel.undefined == ["asr_wer", "custom", "ovrl_mos"]  # no value in b, no direction, in neither
    assert duel.to_dict()["ahead_count"] == 2 and duel.to_dict()["compared"] == 4
    reverse = head_to_head(b, a, ["mcd_db", "pesq_wb"])
    assert reverse.ahead == ["pesq_wb"] and reverse.behind == ["mcd_db"]


def test_cells_and_columns():
    assert cell(figure(3.456, 3.3, 3.6), METRICS["p808_mos"]) == "3.46 ± 0.15"
    assert cell(figure(0.51234), METRICS["stoi"]) == "0.512"
    assert cell(figure(None), METRICS["stoi"]) == "–" and cell(None, METRICS["stoi"]) == "–"
    systems = [System("a", {"asr_wer": figure(1.0), "zzz": figure(1.0)}), System("b", {"mcd_db": figure(1.0)})]
    assert metric_keys(systems) == ["mcd_db", "asr_wer", "zzz"]  # known metrics in their order, then the rest
    assert metric_keys(systems, ["asr_wer"]) == ["asr_wer"]


def test_reports_of_one_system_merge_and_must_agree(tmp_path):
    acoustic = report(tmp_path / "a.json", {"mcd_db": figure(5.0)})
    judged = report(tmp_path / "b.json", {"p808_mos": figure(3.0), "mcd_db": figure(5.0)})
    (system,) = load_systems([("s", acoustic), ("s", judged)])
    assert set(system.figures) == {"mcd_db", "p808_mos"}
    other = report(tmp_path / "c.json", {"mcd_db": figure(4.0)})
    with pytest.raises(UserError, match="two values of mcd_db"):
        load_systems([("s", acoustic), ("s", other)])


@pytest.mark.parametrize("content, message", [
    (None, "no such report"),
    ("{not json", "not a JSON report"),
    ('{"summary": {"mcd_db": 5}}', "not a score report"),
    ("[1, 2]", "not a score report"),
])
def test_bad_reports_name_the_file(tmp_path, content, message):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=message) as exc:
        read_report(path)
    assert str(path) in str(exc.value)


def test_cli_tables_json_and_errors(tmp_path, run_cli):
    a = report(tmp_path / "a.json", {"mcd_db": figure(5.0, 4.5, 5.5), "pesq_wb": figure(2.0)})
    b = report(tmp_path / "b.json", {"mcd_db": figure(6.0), "pesq_wb": figure(2.5)})
    md, js = tmp_path / "t.md", tmp_path / "t.json"
    code, out, err = run_cli(["score", "compare", "--system", f"prior={a}", "--system", f"plain={b}", "--versus", "prior,plain",
                              "--title", "Copy-synthesis", "--out", str(md), "--json", str(js)])
    assert code == 0, err
    assert "|prior|5.00 ± 0.50|2.00|" in out and "|prior|plain|MCD (dB)|PESQ-WB|1/2|" in out
    assert md.read_text().splitlines()[0] == "### Copy-synthesis"
    data = json.loads(js.read_text())
    assert data["metrics"] == ["mcd_db", "pesq_wb"] and data["versus"][0]["ahead"] == ["mcd_db"]
    assert math.isclose(data["systems"]["plain"]["pesq_wb"]["value"], 2.5)
    code, _, err = run_cli(["score", "compare", "--system", f"prior={a}", "--versus", "prior,nobody"])
    assert code != 0 and "no system named 'nobody'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["score", "compare", "--system", str(a)])
    assert code != 0 and "expected A=B" in err
