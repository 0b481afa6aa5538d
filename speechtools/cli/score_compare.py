"""``speechtools score compare``: systems side by side from the JSON reports of the scoring commands."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_FILE, split_pair, versus_pairs


@click.command()
@click.option("--system", "systems", multiple=True, required=True, metavar="NAME=REPORT",
              help="A system's JSON report (score vocoder|naturalness|tts --json); repeat NAME to merge several reports.")
@click.option("--metric", "metrics", multiple=True, metavar="KEY",
              help="Columns, in order (e.g. mcd_db, pesq_wb, stoi, p808_mos, asr_wer) [default: every metric present].")
@click.option("--versus", "versus", multiple=True, metavar="A,B",
              help="A head-to-head: on which of the --metric columns system A is strictly better than B (repeatable).")
@click.option("--title", default=None, help="A heading above the tables.")
@click.option("--out", "out_md", default=None, type=OUTPUT_FILE, help="Write the tables as Markdown.")
@click.option("--json", "json_out", default=None, type=OUTPUT_FILE, help="Write the figures and head-to-heads as JSON.")
def compare(systems: Tuple[str, ...], metrics: Tuple[str, ...], versus: Tuple[str, ...], title: Optional[str],
            out_md: Optional[str], json_out: Optional[str]) -> None:
    """Systems side by side, and which of two is ahead on which metric.

    Each cell is the corpus figure with half its 95% interval; arrows say which way is better.
    A head-to-head counts the metrics on which A is strictly better than B (overlapping
    intervals make it a ranking, not a significant difference).

    \b
    Example:
      speechtools score compare --system priorgrad=exp/voc_data/copy/scoring/vocoder.json \\
          --system diffwave=exp/voc_std/copy/scoring/vocoder.json --versus priorgrad,diffwave \\
          --metric mcd_db --metric pesq_wb --metric stoi --metric p808_mos --metric asr_wer --out results.md
    """
    from speechtools.scoring.compare import head_to_head, head_to_head_table, load_systems, metric_keys, systems_table
    from speechtools.scoring.report import write_markdown_and_json

    specs = [(name, Path(path)) for name, path in (split_pair(s, "--system", "=") for s in systems)]
    table = load_systems(specs)
    by_name = {s.name: s for s in table}
    keys = metric_keys(table, metrics)
    duels = [head_to_head(by_name[a], by_name[b], keys) for a, b in versus_pairs(versus, list(by_name))]
    lines: List[str] = [f"### {title}", ""] if title else []
    lines.append(systems_table(table, keys))
    if duels:
        lines += ["", head_to_head_table(duels)]
    for line in lines:
        click.echo(line)
    report = {"title": title, "metrics": keys, "systems": {s.name: {k: s.figures.get(k) for k in keys} for s in table},
              "versus": [d.to_dict() for d in duels]}
    write_markdown_and_json(lines, report, out_md, json_out)
