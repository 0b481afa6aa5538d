#!/usr/bin/env python3
"""The results table of the LRSpeech recipes (egs/TEMPLATE/lrspeech.sh, stage 9).

Reads, for each row (a, b, c<K>, d, e), the TTS's ``score tts --json`` report on the test prompts
(intelligibility rate and WER of pocketsphinx as the listener, MCD) and the recogniser's
``score wer`` outputs (WER, and CER, which still moves where nearly every word has an error); the
same report of the real recordings; the wall time of each stage (``exp/logs/stageN.log``) and
each model's training steps (its ``config.yaml``). Writes ``<out>.md`` and ``<out>.json`` with
issue 21's targets, each met, missed or not measured (a missing figure is never a met target):

* each of (b), (c), (d) improves TTS IR and ASR WER over the row before it;
* (d) closes at least half of the gap between (a) and (e) on both.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from speechtools.fileio import write_lines
from speechtools.scoring.report import write_json

ROW_NAMES = {"a": "(a) target pairs only", "b": "(b) pre-training + fine-tuning", "d": "(d) knowledge distillation",
             "e": "(e) ceiling: every target pair"}
STAGE_OF_ROW = {"a": 3, "b": 4, "d": 6, "e": 7}
WER_LINE = re.compile(r"%WER ([0-9.]+)")
ENDED = re.compile(r"# ended .* after (\d+)s")


def row_name(row: str) -> str:
    return ROW_NAMES.get(row, f"(c) dual transformation, {row[1:]} iteration(s)")


def figure(report: Optional[Dict], key: str) -> Optional[float]:
    value = ((report or {}).get("summary", {}).get(key) or {}).get("value")
    return float(value) if isinstance(value, (int, float)) and not math.isnan(value) else None


def read_json(path: Path) -> Optional[Dict]:
    return json.loads(path.read_text()) if path.is_file() else None


def error_rate(path: Path) -> Optional[float]:
    """The %WER figure of a ``score wer`` output (with ``--cer`` it is the character error rate)."""
    if not path.is_file():
        return None
    match = WER_LINE.search(path.read_text())
    return float(match.group(1)) if match else None


def stage_seconds(logs: Path, stage: int) -> Optional[int]:
    path = logs / f"stage{stage}.log"
    match = ENDED.search(path.read_text()) if path.is_file() else None
    return int(match.group(1)) if match else None


def steps(model_dir: Path) -> Optional[int]:
    path = model_dir / "config.yaml"
    if not path.is_file():
        return None
    return int((yaml.safe_load(path.read_text()).get("trainer") or {}).get("max_steps", 0)) or None


def cell(value: Optional[float], digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def improves(new: Optional[float], old: Optional[float], higher_is_better: bool) -> Optional[bool]:
    if new is None or old is None:
        return None
    return new > old if higher_is_better else new < old


def closes_half(a: Optional[float], d: Optional[float], e: Optional[float], higher_is_better: bool) -> Optional[bool]:
    if a is None or d is None or e is None:
        return None
    sign = 1.0 if higher_is_better else -1.0
    gap = sign * (e - a)
    return gap > 0 and sign * (d - a) >= 0.5 * gap


def verdict(value: Optional[bool]) -> str:
    return "not measured" if value is None else ("met" if value else "**missed**")


def build(exp: Path, rows: List[str]) -> Dict:
    figures: Dict[str, Dict[str, Optional[float]]] = {}
    for row in rows:
        tts = read_json(exp / f"{row}_tts" / "decode_test" / "scores.json")
        figures[row] = {"tts_ir": figure(tts, "asr_ir"), "tts_asr_wer": figure(tts, "asr_wer"), "mcd_db": figure(tts, "mcd_db"),
                        "asr_wer": error_rate(exp / f"{row}_asr" / "decode_test" / "wer.txt"),
                        "asr_cer": error_rate(exp / f"{row}_asr" / "decode_test" / "cer.txt"),
                        "tts_steps": steps(exp / f"{row}_tts"), "asr_steps": steps(exp / f"{row}_asr")}
    real = read_json(exp / "real" / "scores.json")
    figures["real"] = {"tts_ir": figure(real, "asr_ir"), "tts_asr_wer": figure(real, "asr_wer"), "mcd_db": None,
                       "asr_wer": None, "asr_cer": None, "tts_steps": None, "asr_steps": None}
    budget = {f"stage{n}": stage_seconds(exp / "logs", n) for n in range(1, 10)}
    targets = []
    chain = [r for r in rows if r != "e"]
    for before, after in zip(chain, chain[1:]):
        for key, higher, label in (("tts_ir", True, "TTS IR"), ("asr_wer", False, "ASR WER")):
            met = improves(figures[after][key], figures[before][key], higher)
            targets.append({"target": f"{row_name(after)} improves {label} over {row_name(before)}", "met": met})
    if "a" in figures and "d" in figures and "e" in figures:
        for key, higher, label in (("tts_ir", True, "TTS IR"), ("asr_wer", False, "ASR WER")):
            met = closes_half(figures["a"][key], figures["d"][key], figures["e"][key], higher)
            targets.append({"target": f"(d) closes at least half of the (a)-(e) gap on {label}", "met": met})
    return {"rows": rows, "figures": figures, "stage_seconds": budget, "targets": targets}


def markdown(result: Dict) -> List[str]:
    lines = ["| row | TTS IR % (pocketsphinx) | TTS pocketsphinx WER % | MCD (dB) | ASR WER % | ASR CER % | TTS steps | ASR steps |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in [*result["rows"], "real"]:
        f = result["figures"][row]
        name = "real recordings" if row == "real" else row_name(row)
        lines.append(f"| {name} | {cell(f['tts_ir'])} | {cell(f['tts_asr_wer'])} | {cell(f['mcd_db'])} | {cell(f['asr_wer'])} | {cell(f['asr_cer'])} | "
                     f"{f['tts_steps'] or '–'} | {f['asr_steps'] or '–'} |")
    lines += ["", "| stage | wall seconds |", "|---|---:|"]
    lines += [f"| {name} | {seconds if seconds is not None else '–'} |" for name, seconds in result["stage_seconds"].items()]
    lines += ["", "| target | verdict |", "|---|---|"]
    lines += [f"| {t['target']} | {verdict(t['met'])} |" for t in result["targets"]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exp", type=Path, required=True)
    parser.add_argument("--rows", required=True, help="Space-separated rows, e.g. 'a b c2 d e'.")
    parser.add_argument("--out", type=Path, required=True, help="Prefix: writes <out>.md and <out>.json.")
    args = parser.parse_args()
    result = build(args.exp, args.rows.split())
    lines = markdown(result)
    write_lines(args.out.with_suffix(".md"), lines)
    write_json(args.out.with_suffix(".json"), result)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
