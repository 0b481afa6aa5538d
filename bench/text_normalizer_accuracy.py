"""Accuracy of the English normaliser against the LJSpeech human normalisation.

For every sentence of an LJSpeech-format ``metadata.csv`` (``id|raw|normalised``) whose raw
and normalised columns differ, normalise the raw column and count an exact match with the
human column, ignoring case and punctuation (hyphens, apostrophes, quotes). LJSpeech's human
column keeps titles abbreviated ("Mr.", "Dr."), so the reference goes through the same
abbreviation expansion first. Second figure: the share of sentences the human left unchanged
that the normaliser also leaves unchanged (false alarms such as "John D. Ready" read as a Roman
numeral show up here).

Side by side, as the baseline: Keith Ito's Tacotron number expansion (``normalize_numbers``,
the ``english_cleaners`` step ESPnet's ``tacotron`` cleaner uses; read from g2p-en's copy,
``g2p_en/expand.py``) followed by the same abbreviation expansion.

    python bench/text_normalizer_accuracy.py --metadata metadata.csv --out bench/results/text_normalizer_accuracy.json
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import click

from speechtools.fileio import atomic_write
from speechtools.text.english_g2p import g2p_en_data_dir
from speechtools.text.english_normalizer import canonical_words, expand_abbreviations, normalize_english


def tacotron_baseline() -> Optional[Callable[[str], str]]:
    """Keith Ito's ``normalize_numbers`` from g2p-en's ``expand.py`` (loaded without importing
    the ``g2p_en`` package, whose import calls ``nltk.download``), plus abbreviation expansion."""
    try:
        path = g2p_en_data_dir() / "expand.py"
        spec = importlib.util.spec_from_file_location("tacotron_expand", path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except (ImportError, OSError, AttributeError):
        return None
    return lambda text: expand_abbreviations(module.normalize_numbers(text))


def score(pairs: List[Tuple[str, str, str]], normalize: Callable[[str], str]) -> Dict[str, object]:
    """Exact matches (case/punctuation ignored) and the time taken, over (id, raw, human) pairs."""
    start = time.perf_counter()
    hyps = [normalize(raw) for _, raw, _ in pairs]
    seconds = time.perf_counter() - start
    errors = []
    for (utt, raw, human), hyp in zip(pairs, hyps):
        ref = canonical_words(expand_abbreviations(human))
        if canonical_words(hyp) != ref:
            errors.append({"id": utt, "raw": raw, "hyp": " ".join(canonical_words(hyp)), "ref": " ".join(ref)})
    exact = len(pairs) - len(errors)
    return {"exact": exact, "accuracy": exact / len(pairs) if pairs else 0.0, "seconds": seconds, "errors": errors}


@click.command()
@click.option("--metadata", required=True, type=click.Path(exists=True, dir_okay=False), help="LJSpeech metadata.csv")
@click.option("--out", default="bench/results/text_normalizer_accuracy.json", show_default=True, help="JSON result.")
@click.option("--show-errors", type=int, default=0, help="Print the first N mismatches of speechtools.")
def main(metadata: str, out: str, show_errors: int) -> None:
    """Print the share of differing LJSpeech sentences normalised exactly as the human did."""
    pairs, unchanged = [], []
    for line in Path(metadata).read_text(encoding="utf-8").splitlines():
        fields = line.split("|")
        if len(fields) >= 3:
            (pairs if fields[1] != fields[2] else unchanged).append((fields[0], fields[1], fields[2]))
    systems = {"speechtools normalize_english": normalize_english}
    baseline = tacotron_baseline()
    if baseline is not None:
        systems["Tacotron english_cleaners numbers (baseline)"] = baseline
    results = {name: score(pairs, fn) for name, fn in systems.items()}
    kept = {name: score(unchanged, fn) for name, fn in systems.items()}
    ours = results["speechtools normalize_english"]
    for error in ours["errors"][:show_errors]:  # type: ignore[index]
        click.echo(f"{error['id']}\n  raw: {error['raw']}\n  hyp: {error['hyp']}\n  ref: {error['ref']}")
    click.echo(f"{Path(metadata).name}: {len(pairs)} sentences whose raw and normalised columns differ, {len(unchanged)} identical")
    click.echo("| normaliser | differing: exact | accuracy | identical: kept | time relative to speechtools |")
    click.echo("|---|---|---|---|---|")
    for name, result in results.items():
        ratio = result["seconds"] / ours["seconds"] if ours["seconds"] else float("nan")  # type: ignore[operator]
        click.echo(
            f"| {name} | {result['exact']}/{len(pairs)} | {100 * result['accuracy']:.2f}% "  # type: ignore[operator]
            f"| {100 * kept[name]['accuracy']:.2f}% | {ratio:.2f}x |"  # type: ignore[operator]
        )
    with atomic_write(out) as handle:
        summary = {
            name: {"exact": r["exact"], "accuracy": r["accuracy"], "seconds": r["seconds"], "identical_kept": kept[name]["accuracy"], "errors": r["errors"]}
            for name, r in results.items()
        }
        json.dump({"metadata": str(metadata), "differing": len(pairs), "identical": len(unchanged), "systems": summary}, handle, indent=2)
        handle.write("\n")


if __name__ == "__main__":
    main()
