"""`speechtools score cost`: size and CPU speed of trained acoustic models, as reports `score compare` merges."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from speechtools.data.kaldi import read_table
from speechtools.train.model_dir import load_model_dir


def _args(model: Path, out: Path, *systems: str):
    root = model.parent
    return (["score", "cost", *(a for s in systems for a in ("--system", s)), "--data", root / "data" / "train",
             "--feats", root / "dump", "--sentences", "3", "--repeats", "1", "--out-dir", out])


def test_cost_reports_size_and_a_real_time_factor_of_the_timed_frames(tiny_model_dir: Path, tmp_path: Path, run_cli):
    out = tmp_path / "cost"
    code, stdout, err = run_cli(_args(tiny_model_dir, out, f"a={tiny_model_dir}", f"b={tiny_model_dir}"))
    assert code == 0, err
    assert stdout.startswith("CPU: ") and "|a|" in stdout and "|b|" in stdout
    report = json.loads((out / "a.json").read_text())
    model = load_model_dir(tiny_model_dir, device="cpu").model
    assert report["params"] == sum(p.numel() for p in model.parameters())
    assert report["summary"]["params_m"]["value"] == report["params"] / 1e6
    assert report["macs"] > 0 and report["sentences"] == 3
    # the timed frames are the first 3 utterances' reference durations (by id), at the model's hop and rate
    durations = read_table(tiny_model_dir.parent / "data" / "train" / "durations")
    frames = sum(sum(int(d) for d in durations[u].split()) for u in sorted(durations)[:3])
    assert abs(report["audio_seconds"] - frames * 256 / 22050) < 1e-9
    latency, rtf = report["summary"]["latency_ms"]["value"], report["summary"]["rtf"]["value"]
    assert abs(rtf - latency / 1e3 * 3 / report["audio_seconds"]) < 1e-12
    assert [line[:3] for line in (out / "cost.md").read_text().splitlines() if line.startswith("|")] == ["|mo", "|--", "|a|", "|b|"]
    # the reports merge into score compare, with directions (lower is better)
    code, stdout, err = run_cli(["score", "compare", "--system", f"a={out / 'a.json'}", "--system", f"b={out / 'b.json'}"])
    assert code == 0, err
    assert "Params (M) ↓" in stdout and "RTF ↓" in stdout


def test_cost_refuses_bad_names_and_non_model_dirs_in_one_line(tiny_model_dir: Path, tmp_path: Path, run_cli):
    code, _, err = run_cli(_args(tiny_model_dir, tmp_path / "x", f"a/b={tiny_model_dir}"))
    assert code != 0 and "'a/b'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(_args(tiny_model_dir, tmp_path / "x", f"a={tiny_model_dir}", f"a={tiny_model_dir}"))
    assert code == 2 and "once" in err
    code, _, err = run_cli(_args(tiny_model_dir, tmp_path / "x", f"a={tmp_path}"))
    assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
    torch.set_num_threads(1)
