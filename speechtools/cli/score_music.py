"""``speechtools score ranking`` and ``score classification`` (MusicBERT understanding tasks)."""

from __future__ import annotations

from typing import Optional

import click

from speechtools.cli.options import OUTPUT_FILE


@click.command()
@click.argument("scores", type=click.Path(dir_okay=False))
@click.option("--json", "json_out", type=OUTPUT_FILE, default=None, help="Also write the metrics (and per-group AP) as JSON.")
def ranking(scores: str, json_out: Optional[str]) -> None:
    """MAP and HITS@1/5/10/15/20/25 from a file of 'group candidate label score' lines.

    Candidates of a group are ranked by score (highest first); label 1 marks the true one(s).

    Example: speechtools score ranking exp/acc/test_scores.txt --json exp/acc/test_metrics.json
    """
    from speechtools.scoring.ranking import HITS_K, read_ranking_file, score_ranking
    from speechtools.scoring.report import write_json

    groups, labels, values = read_ranking_file(scores)
    result = score_ranking(groups, labels, values)
    hits = " ".join(f"HITS@{k} {100 * result.hits[k]:.2f}" for k in HITS_K)
    click.echo(f"%RANK groups {result.n_groups} MAP {100 * result.map:.2f} {hits} [ {scores} ]")
    click.echo("|groups|MAP|" + "|".join(f"HITS@{k}" for k in HITS_K) + "|")
    click.echo("|---:|---:|" + "|".join("---:" for _ in HITS_K) + "|")
    click.echo(f"|{result.n_groups}|{result.map:.4f}|" + "|".join(f"{result.hits[k]:.4f}" for k in HITS_K) + "|")
    if json_out:
        write_json(json_out, {"groups": result.n_groups, "map": result.map, "hits": result.hits, "per_group_ap": result.per_group}, indent=1)


@click.command()
@click.argument("ref", type=click.Path(dir_okay=False))
@click.argument("hyp", type=click.Path(dir_okay=False))
@click.option("--json", "json_out", type=OUTPUT_FILE, default=None, help="Also write the metrics as JSON.")
def classification(ref: str, hyp: str, json_out: Optional[str]) -> None:
    """Accuracy, micro F1 and macro F1 from 'name label [label ...]' reference and hypothesis files.

    Example: speechtools score classification exp/cls/test_ref.txt exp/cls/test_hyp.txt
    """
    from speechtools.scoring.classification import read_label_file, score_classification
    from speechtools.scoring.report import write_json

    result = score_classification(read_label_file(ref), read_label_file(hyp), ref, hyp)
    click.echo(f"%CLS items {result.n_items} accuracy {100 * result.accuracy:.2f} micro-F1 {100 * result.micro_f1:.2f} macro-F1 {100 * result.macro_f1:.2f} [ {hyp} ]")
    click.echo("|class|precision|recall|F1|support|")
    click.echo("|---|---:|---:|---:|---:|")
    for name, (p, r, f, n) in result.per_class.items():
        click.echo(f"|{name}|{p:.4f}|{r:.4f}|{f:.4f}|{n}|")
    if json_out:
        write_json(json_out, {"items": result.n_items, "accuracy": result.accuracy, "micro_f1": result.micro_f1, "macro_f1": result.macro_f1,
                              "per_class": {k: dict(zip(("precision", "recall", "f1", "support"), v)) for k, v in result.per_class.items()}},
                   indent=1)


@click.command()
@click.argument("ref", type=click.Path(dir_okay=False))
@click.argument("hyp", type=click.Path(dir_okay=False))
@click.option("--json", "json_out", type=OUTPUT_FILE, default=None, help="Also write the metrics and per-song values as JSON (the input of score compare and score paired).")
def melody(ref: str, hyp: str, json_out: Optional[str]) -> None:
    """SongMASS melody metrics: pitch (PD) and duration (DD) distribution similarity, melody distance (MD, by DTW).

    REF and HYP hold one song per line in SongMASS melody tokens (``<pitch> <duration>`` pairs,
    ``[align]``/``[sep]`` marks), as ``music lyrics-melody`` and ``music generate-melody`` write them;
    line k of HYP is scored against line k of REF. Higher PD/DD and lower MD are better.

    Example: speechtools score melody data/songs/para/test.melody exp/songmass/test_hyp.melody
    """
    from speechtools.errors import UserError
    from speechtools.fileio import read_lines
    from speechtools.scoring.melody_metrics import score_melodies
    from speechtools.scoring.report import write_json

    refs, hyps = [line.split() for _, line in read_lines(ref)], [line.split() for _, line in read_lines(hyp)]
    if len(refs) != len(hyps):
        raise UserError(f"{len(hyps)} songs (lines) but the reference {ref} has {len(refs)}", hyp)
    if not refs:
        raise UserError("no song to score (empty file)", ref)
    result = score_melodies(refs, hyps)
    click.echo(f"%MELODY songs {result.songs} PD {100 * result.pd:.2f} DD {100 * result.dd:.2f} MD {result.md:.4f} [ {hyp} ]")
    click.echo("|songs|PD|DD|MD|")
    click.echo("|---:|---:|---:|---:|")
    click.echo(f"|{result.songs}|{result.pd:.4f}|{result.dd:.4f}|{result.md:.4f}|")
    if json_out:
        write_json(json_out, result.report(), indent=1)
