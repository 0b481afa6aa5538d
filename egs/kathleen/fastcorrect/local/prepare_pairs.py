#!/usr/bin/env python3
"""Kathleen (CMU ARCTIC "a" prompts, CC0) → correction pairs for train/dev/test.

Reads ``<corpus>/text.psv`` (``id|text``) and ``<corpus>/asr_hyp.tsv``
(``id<TAB>1-best<TAB>n-best``, read by ``speechtools.correction.multi_alignment.read_nbest``),
normalises the references as the ASR output is written (lower case, no punctuation), and
writes for each set ``<out>/<set>/ref`` and ``<out>/<set>/hyp`` (Kaldi text: ``id words...``),
``<out>/<set>/pairs.tsv`` (``hyp<TAB>ref``) and ``<out>/<set>/nbest.tsv``: each utterance's
normalised n-best list in the ``asr_hyp.tsv`` format (``format_nbest_tsv``; the 1-best is
``hyp``'s line, then the distinct candidates), what ``correct-asr --n-best`` reads. With
``--hyp`` (a Kaldi text of 1-best hypotheses) each list is the 1-best alone. The test and dev
ids are fixed lists shipped with the recipe.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List

from speechtools.correction.multi_alignment import format_nbest_tsv, read_nbest
from speechtools.correction.tokenizer import normalize_en
from speechtools.errors import UserError
from speechtools.fileio import read_lines, write_lines


def read_ids(path: Path) -> set:
    return {line.strip() for _, line in read_lines(path) if line.strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--test-ids", required=True)
    parser.add_argument("--dev-ids", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--hyp", default=None, help="Kaldi text of hypotheses replacing <corpus>/asr_hyp.tsv (e.g. from pocketsphinx).")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    refs: Dict[str, str] = {}
    for number, line in read_lines(corpus / "text.psv"):
        key, sep, text = line.partition("|")
        if not sep or not key:
            raise UserError("expected 'id|text'", corpus / "text.psv", number)
        refs[key] = normalize_en(text)
    nbest: Dict[str, List[str]] = {}  # id -> normalised candidates, the 1-best first
    if args.hyp:
        for _, line in read_lines(args.hyp):
            parts = line.split(maxsplit=1)
            if parts:
                nbest[parts[0]] = [normalize_en(parts[1] if len(parts) > 1 else "")]
    else:
        for key, cands in read_nbest(corpus / "asr_hyp.tsv", "tsv").items():
            nbest[key] = [normalize_en(c) for c in cands]
    hyps = {k: cands[0] for k, cands in nbest.items()}
    missing = sorted(set(refs) - set(hyps))
    if missing:
        raise UserError(f"{len(missing)} utterances have no hypothesis (first: {missing[0]})", args.hyp or corpus / "asr_hyp.tsv")
    test, dev = read_ids(Path(args.test_ids)), read_ids(Path(args.dev_ids))
    for name, ids in (("test", test), ("dev", dev)):
        unknown = sorted(ids - set(refs))
        if unknown:
            raise UserError(f"{len(unknown)} {name} ids are not in the corpus (first: {unknown[0]})", corpus / "text.psv")
    sets = {"test": sorted(test), "dev": sorted(dev), "train": sorted(set(refs) - test - dev)}
    for name, keys in sets.items():
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        write_lines(out / "ref", [f"{k} {refs[k]}".rstrip() for k in keys])
        write_lines(out / "hyp", [f"{k} {hyps[k]}".rstrip() for k in keys])
        write_lines(out / "pairs.tsv", [f"{hyps[k]}\t{refs[k]}" for k in keys])
        write_lines(out / "nbest.tsv", [format_nbest_tsv(k, nbest[k]) for k in keys])
        print(f"{name}: {len(keys)} utterances -> {out}")


if __name__ == "__main__":
    try:
        main()
    except UserError as exc:  # a bad input file: one line naming it (and its line), no traceback
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
