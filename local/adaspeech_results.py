#!/usr/bin/env python3
"""The parameter-count and target tables of the AdaSpeech recipe (egs/TEMPLATE/adaspeech.sh, stage 8).

Reads the ``speechtools score compare --json`` report of the rows and each adapted row's
``exp/adapt_<row>/params.json`` (the counts ``speechtools adapt`` printed); writes
``<prefix>_params.{md,json}`` (parameters trained and stored per speaker, next to the AdaSpeech
paper's figures) and ``<prefix>_targets.{md,json}`` (issue 18's targets, each met or not, with the
figures it was decided on). A target whose figures are missing is "not measured", never met.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Dict, List, Optional

WHAT = {
    "source": "nothing (no adaptation: a source speaker's embedding and the reference clip)",
    "embedding": "the new speaker's embedding row",
    "decoder": "the whole decoder side (FFT blocks with their CLN, mel head, post-net) + the embedding row",
    "adaspeech": "AdaSpeech: the CLN scale/bias projections + the embedding row",
    "adaspeech2": "AdaSpeech 2 (untranscribed clips): the CLN scale/bias projections",
}
# Per-speaker figures the AdaSpeech paper reports (Chen et al., ICLR 2021, arXiv 2103.00993);
# copied from the issue, not checked against the paper's own accounting.
PAPER = {"adaspeech": "4.9K", "decoder": "14.1M"}


def similarity(results: Dict, row: str) -> Optional[float]:
    figure = (results.get("systems", {}).get(row) or {}).get("speaker_sim") or {}
    value = figure.get("value")
    return float(value) if isinstance(value, (int, float)) and not math.isnan(value) else None


def markdown(headers: List[str], rows: List[List[str]]) -> List[str]:
    return ["|" + "|".join(headers) + "|", "|" + "|".join("---" for _ in headers) + "|"] + \
        ["|" + "|".join(r) + "|" for r in rows]


def fmt(value: Optional[float], digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="speechtools score compare --json report")
    parser.add_argument("--exp", required=True, help="the recipe's exp/ folder (exp/adapt_<row>/params.json)")
    parser.add_argument("--rows", required=True, help="the adapted rows, space-separated")
    parser.add_argument("--out-prefix", required=True, help="write PREFIX_params.{md,json}, PREFIX_targets.{md,json}")
    args = parser.parse_args()
    results = json.loads(Path(args.results).read_text(encoding="utf-8"))
    rows = args.rows.split()
    params: Dict[str, Dict] = {"source": {"trained": 0, "per_speaker": 0}}
    for row in rows:
        params[row] = json.loads((Path(args.exp) / f"adapt_{row}" / "params.json").read_text(encoding="utf-8"))

    table = [[row, WHAT.get(row, row), f"{p['trained']:,}", f"{p['per_speaker']:,}", PAPER.get(row, "–")]
             for row, p in params.items()]
    lines = ["### Adapted parameters", ""] + markdown(
        ["row", "what adapts", "parameters trained", "stored per speaker", "paper, per speaker (unverified)"], table)
    ada, dec = params.get("adaspeech"), params.get("decoder")
    ratio = ada["per_speaker"] / dec["per_speaker"] if ada and dec and dec["per_speaker"] else None
    if ratio is not None:
        lines += ["", f"AdaSpeech stores {ada['per_speaker']:,} values per speaker, {ratio:.5f} of whole-decoder "
                  f"fine-tuning's {dec['per_speaker']:,} (the paper: 4.9K vs 14.1M = {4.9e3 / 14.1e6:.5f})."]
    Path(f"{args.out_prefix}_params.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path(f"{args.out_prefix}_params.json").write_text(json.dumps(
        {"rows": params, "paper_per_speaker": PAPER, "adaspeech_over_decoder": ratio}, indent=2) + "\n", encoding="utf-8")

    sim = {row: similarity(results, row) for row in ["source", *rows, "real"]}

    def target(name: str, rule: str, values: Dict[str, Optional[float]], met: Optional[bool]) -> Dict:
        return {"target": name, "rule": rule, "values": values, "met": met}

    def check(a: Optional[float], b: Optional[float], test) -> Optional[bool]:
        return None if a is None or b is None else bool(test(a, b))

    targets = [
        target("AdaSpeech close to whole-decoder fine-tuning", "sim(adaspeech) >= sim(decoder) - 0.03",
               {"adaspeech": sim.get("adaspeech"), "decoder": sim.get("decoder")},
               check(sim.get("adaspeech"), sim.get("decoder"), lambda a, b: a >= b - 0.03)),
        target("AdaSpeech with at most 1/100 of the decoder's parameters", "per_speaker(adaspeech) <= per_speaker(decoder) / 100",
               {"adaspeech": ada["per_speaker"] if ada else None, "decoder": dec["per_speaker"] if dec else None},
               check(ada["per_speaker"] if ada else None, dec["per_speaker"] if dec else None, lambda a, b: a * 100 <= b)),
        target("AdaSpeech above speaker-embedding-only adaptation", "sim(adaspeech) > sim(embedding)",
               {"adaspeech": sim.get("adaspeech"), "embedding": sim.get("embedding")},
               check(sim.get("adaspeech"), sim.get("embedding"), lambda a, b: a > b)),
        target("AdaSpeech 2 close to AdaSpeech", "sim(adaspeech2) >= sim(adaspeech) - 0.05",
               {"adaspeech2": sim.get("adaspeech2"), "adaspeech": sim.get("adaspeech")},
               check(sim.get("adaspeech2"), sim.get("adaspeech"), lambda a, b: a >= b - 0.05)),
    ]
    rows_md = [[t["target"], f"`{t['rule']}`", ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {fmt(v)}"
                                                        for k, v in t["values"].items()),
                {True: "met", False: "not met", None: "not measured"}[t["met"]]] for t in targets]
    lines = ["### Targets (speaker similarity = cosine to the centroid of the adaptation clips)", ""] + markdown(
        ["target", "rule", "figures", "result"], rows_md)
    lines += ["", f"Ceiling (real held-out recordings): {fmt(sim.get('real'))}; no adaptation: {fmt(sim.get('source'))}."]
    Path(f"{args.out_prefix}_targets.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path(f"{args.out_prefix}_targets.json").write_text(json.dumps({"similarity": sim, "targets": targets}, indent=2) + "\n",
                                                       encoding="utf-8")


if __name__ == "__main__":
    main()
