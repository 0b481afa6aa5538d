"""``speechtools midi encode/decode/stats`` end to end, including one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from speechtools.music import octuple as O

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "music"


def test_encode_decode_round_trip(tmp_path, run_cli):
    code, _, _ = run_cli(["midi", "encode", str(FIXTURES / "aloha_oe.mid"), str(tmp_path / "a.txt")])
    assert code == 0
    lines = (tmp_path / "a.txt").read_text().splitlines()
    assert lines == (FIXTURES / "aloha_oe.upstream.txt").read_text().splitlines()
    code, _, _ = run_cli(["midi", "decode", str(tmp_path / "a.txt"), str(tmp_path / "a.mid")])
    assert code == 0
    assert np.array_equal(O.encode(tmp_path / "a.mid"), O.encode(FIXTURES / "aloha_oe.mid"))


def test_errors_are_one_line_and_leave_no_output(tmp_path, run_cli):
    bad = tmp_path / "bad.txt"
    bad.write_text("<0-0> <1-0> <2-0> <3-60> <4-0> <5-4> <6-9> <7-3>\n<0-0> <1-0> <2-0> <3-999> <4-0> <5-4> <6-9> <7-3>\n")
    code, _, err = run_cli(["midi", "decode", str(bad), str(tmp_path / "out.mid")])
    assert code == 1 and err.strip().splitlines() == [f"error: {bad}:2: pitch value 999 out of range in octuple [0, 0, 0, 999, 0, 4, 9, 3]"]
    assert not (tmp_path / "out.mid").exists()
    corrupt = tmp_path / "c.mid"
    corrupt.write_bytes(b"MThd\x00\x00")
    code, _, err = run_cli(["midi", "encode", str(corrupt), str(tmp_path / "c.txt")])
    assert code == 1 and err.splitlines() == [f"error: {corrupt}: truncated: the file ends inside its 'MThd' header (6 bytes; a MIDI header has 14)"]
    assert not (tmp_path / "c.txt").exists()


def test_stats_table_and_json(tmp_path, run_cli):
    for name in ["bwv1.6.mid", "aloha_oe.mid"]:
        shutil.copy(FIXTURES / name, tmp_path / name)
    code, out, _ = run_cli(["midi", "stats", str(tmp_path), "--json", str(tmp_path / "s.json")])
    assert code == 0 and "| CP-like |" in out
    summary = json.loads((tmp_path / "s.json").read_text())["summary"]
    assert summary["songs"] == 2 and summary["octuple"] == (491 + 458) / 2
    assert 1.0 < summary["cp_ratio"] < summary["remi_ratio"]
