"""Accuracy of the English normaliser against the LJSpeech human normalisation.

For every sentence of an LJSpeech-format ``metadata.csv`` (``id|raw|normalised``) whose raw
and normalised columns differ, normalise the raw column and count an exact match with the
human column, ignoring case and punctuation. LJSpeech's human column keeps titles abbreviated
("Mr.", "Dr."), so the reference goes through the same abbreviation expansion first.

    python bench/text_normalizer_accuracy.py --metadata metadata.csv --out bench/results/text_normalizer.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from speechtools.fileio import atomic_write
from speechtools.text.english_normalizer import canonical_words, expand_abbreviations, normalize_english


@click.command()
@click.option("--metadata", required=True, type=click.Path(exists=True, dir_okay=False), help="LJSpeech metadata.csv")
@click.option("--out", default="bench/results/text_normalizer_accuracy.json", show_default=True, help="JSON result.")
@click.option("--show-errors", type=int, default=0, help="Print the first N mismatches.")
def main(metadata: str, out: str, show_errors: int) -> None:
    """Print the share of differing LJSpeech sentences normalised exactly as the human did."""
    total = correct = 0
    errors = []
    for line in Path(metadata).read_text(encoding="utf-8").splitlines():
        fields = line.split("|")
        if len(fields) < 3 or fields[1] == fields[2]:
            continue
        total += 1
        hyp = canonical_words(normalize_english(fields[1]))
        ref = canonical_words(expand_abbreviations(fields[2]))
        if hyp == ref:
            correct += 1
        else:
            errors.append((fields[0], fields[1], " ".join(hyp), " ".join(ref)))
    accuracy = correct / total if total else 0.0
    for utt, raw, hyp, ref in errors[:show_errors]:
        click.echo(f"{utt}\n  raw: {raw}\n  hyp: {hyp}\n  ref: {ref}")
    click.echo("| metadata | differing sentences | exact after normalisation | accuracy |")
    click.echo("|---|---|---|---|")
    click.echo(f"| {Path(metadata).name} | {total} | {correct} | {100 * accuracy:.2f}% |")
    with atomic_write(out) as handle:
        json.dump({"metadata": str(metadata), "differing": total, "exact": correct, "accuracy": accuracy}, handle, indent=2)
        handle.write("\n")


if __name__ == "__main__":
    main()
    sys.exit(0)
