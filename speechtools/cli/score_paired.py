"""``speechtools score paired``: the paired bootstrap of two systems' difference, each system one or more runs (seeds)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_FILE, split_pair, versus_pairs
from speechtools.errors import UserError


@click.command()
@click.option("--system", "systems", multiple=True, required=True, metavar="NAME=REPORT",
              help="A run of a system: a JSON report with per-utterance values (score tts|vocoder|naturalness --json); "
                   "repeat NAME for its other runs (e.g. seeds): per utterance the runs' mean.")
@click.option("--versus", "versus", multiple=True, required=True, metavar="A,B", help="A pair to compare: A − B (repeatable).")
@click.option("--metric", "metrics", multiple=True, required=True, metavar="KEY",
              help="A metric with per-utterance values (e.g. mcd_db, p808_mos, asr_wer; repeatable).")
@click.option("--ref", "ref_dir", default=None,
              help="The data directory the systems were scored against: its text weights asr_wer and asr_ir by reference words.")
@click.option("--replications", type=click.IntRange(min=100), default=10000, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the resampling.")
@click.option("--out", "out_md", default=None, type=OUTPUT_FILE, help="Write the table as Markdown.")
@click.option("--json", "json_out", default=None, type=OUTPUT_FILE, help="Write every difference as JSON.")
def paired(systems: Tuple[str, ...], versus: Tuple[str, ...], metrics: Tuple[str, ...], ref_dir: Optional[str], replications: int,
           seed: int, out_md: Optional[str], json_out: Optional[str]) -> None:
    """Paired bootstrap over utterances of A − B on each metric, each system the mean of its runs.

    A system's figure is its runs' per-utterance mean, weighted over utterances as its
    report weights them (1 each; reference words for asr_wer and asr_ir). The 95% interval is
    the percentile interval of the difference over utterance resamples drawn the same for A and
    B (Koehn 2004); the verdict names the system ahead when the interval excludes 0. The
    interval covers the choice of utterances, not of seeds.

    \b
    Example (two seeds each):
      speechtools score paired --system found=s1/scores.json --system found=s2/scores.json \\
          --system random=r1/scores.json --system random=r2/scores.json --versus found,random \\
          --metric mcd_db --metric p808_mos --metric asr_wer --ref data/eval --out paired.md
    """
    from speechtools.data.kaldi import read_table
    from speechtools.scoring.judges.asr_wer import reference_words
    from speechtools.scoring.paired import paired_difference, paired_table, read_run
    from speechtools.scoring.report import write_markdown_and_json

    runs: Dict[str, List] = {}
    for spec in systems:
        name, path = split_pair(spec, "--system", "=")
        runs.setdefault(name, []).append(read_run(Path(path)))
    words = None
    if ref_dir is not None:
        text = Path(ref_dir) / "text"
        if not text.is_file():
            raise UserError("no text file in the --ref data directory", text)
        words = {utt: reference_words(line) for utt, line in read_table(text, min_fields=1, allow_empty_value=True).items()}
    results = [paired_difference(a, runs[a], b, runs[b], metric, words, replications, seed)
               for a, b in versus_pairs(versus, list(runs)) for metric in metrics]
    lines = [paired_table(results)]
    for line in lines:
        click.echo(line)
    report = {"replications": replications, "seed": seed, "differences": [r.to_dict() for r in results]}
    write_markdown_and_json(lines, report, out_md, json_out)
