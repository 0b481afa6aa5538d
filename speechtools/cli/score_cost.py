"""``speechtools score cost``: parameters, MACs and measured CPU latency / RTF of trained acoustic models, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_DIR, split_pair


@click.command()
@click.option("--system", "systems", multiple=True, required=True, metavar="NAME=MODEL_DIR",
              help="A trained acoustic model directory and its name in the table (repeatable; the first is the ratios' base).")
@click.option("--data", "data_dir", required=True, help="Data directory (text, durations) whose first --sentences are timed.")
@click.option("--feats", required=True, help="Feature store of that set (dump/<set>).")
@click.option("--sentences", type=click.IntRange(min=1), default=20, show_default=True, help="Utterances timed (first by id).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="CPU threads of the measurement.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True, help="Timed passes (the fastest counts).")
@click.option("--out-dir", default=None, type=OUTPUT_DIR,
              help="Write NAME.json per system (a score report: params_m, gmacs, latency_ms, rtf) and cost.md.")
def cost(systems: Tuple[str, ...], data_dir: str, feats: str, sentences: int, threads: int, repeats: int,
         out_dir: Optional[str]) -> None:
    """Parameters, MACs and CPU latency / real-time factor of trained acoustic models, one after another in one process.

    Each model runs as `speechtools synth` runs it on the CPU (batch 1, inference mode, CPU fast
    path) over the same sentences with their reference durations, so every model generates the
    same frames. RTF = model time / audio time, mel generation only (no vocoder). The reports in
    --out-dir merge into `speechtools score compare` (same NAME, several --system reports).

    \b
    Example:
      speechtools score cost --system found=exp/lightspeech_nas --system authors=exp/authors \\
          --data data/eval --feats dump/eval --threads 1 --out-dir exp/cost
    """
    from speechtools.device import cpu_name
    from speechtools.fileio import atomic_dir, checked_id, id_file, write_lines
    from speechtools.nas.model_cost import cost_table, measure_model_dirs
    from speechtools.scoring.report import write_json

    pairs = [split_pair(s, "--system", "=") for s in systems]
    names = [checked_id(name, "system name") for name, _ in pairs]
    if len(set(names)) != len(names):
        raise click.BadParameter("each NAME may be given once", param_hint="'--system'")
    costs = measure_model_dirs(pairs, data_dir, feats, sentences, threads=threads, repeats=repeats)
    cpu = cpu_name()
    heading = f"CPU: {cpu}; {threads} thread(s); batch 1; {costs[0].sentences} sentences of {data_dir}"
    table = cost_table(costs)
    click.echo(heading)
    click.echo(table)
    if out_dir is not None:
        with atomic_dir(out_dir) as tmp:
            for c in costs:
                write_json(id_file(tmp, c.name, ".json", "system name"),
                           {"summary": c.summary(), "cpu": cpu, "threads": threads, "repeats": repeats,
                            "sentences": c.sentences, "audio_seconds": c.audio_seconds, "params": c.params, "macs": c.macs})
            write_lines(Path(tmp) / "cost.md", [heading, "", table])
