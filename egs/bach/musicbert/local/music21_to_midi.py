#!/usr/bin/env python3
"""Convert the public-domain part of the music21 corpus to MIDI, with labels.

Writes ``OUT/<collection>/<name>.mid`` and ``OUT/labels.tsv`` with the columns
``song composer collection mode``; ``mode`` (major/minor) comes from music21's key
analysis (Krumhansl-Schmuckler) of the score. Runs offline: the corpus ships inside the
music21 wheel (recipe extra ``music``).

Collections converted by default (composers dead > 70 years; see README for licences):
bach (the 371+ chorale harmonisations), beethoven, mozart, haydn, handel, schumann_robert,
schumann_clara, chopin, joplin, schubert, weber, verdi, cpebach, corelli, monteverdi,
johnson_j_r, liliuokalani, beach. Excluded on purpose: nottingham-dataset (GPL-3.0),
essenFolksong (non-commercial), josquin (GPL), palestrina ("rights to all derivative
electronic formats reserved"), trecento (modern edition), and the ABC tune books.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_COLLECTIONS = (
    "bach beethoven mozart haydn handel schumann_robert schumann_clara chopin joplin schubert "
    "weber verdi cpebach corelli monteverdi johnson_j_r liliuokalani beach"
).split()
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".mid")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--collections", nargs="+", default=DEFAULT_COLLECTIONS)
    parser.add_argument("--max-per-collection", type=int, default=0, help="0 = all")
    parser.add_argument("--names", nargs="*", default=None, help="only these work names (file stems)")
    args = parser.parse_args()
    try:
        import music21
        from tqdm import tqdm
    except ImportError as exc:
        print(f"error: {exc.name} is not installed; install the recipe extra: pip install 'speechtools[music]'", file=sys.stderr)
        return 1
    root = Path(music21.__file__).parent / "corpus"
    jobs = []
    for collection in args.collections:
        folder = root / collection
        if not folder.is_dir():
            print(f"error: no collection {collection!r} in {root}", file=sys.stderr)
            return 1
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SCORE_SUFFIXES)
        if args.names:
            files = [p for p in files if p.stem in args.names]
        if args.max_per_collection:
            files = files[: args.max_per_collection]
        jobs.extend((collection, p) for p in files)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    failed = 0
    for collection, path in tqdm(jobs, desc="music21 -> MIDI", unit="score"):
        rel = path.relative_to(root / collection).with_suffix("")
        name = "_".join(rel.parts).replace(" ", "_")
        out = args.out_dir / collection / f"{name}.mid"
        try:
            score = music21.converter.parse(path)
            if isinstance(score, music21.stream.Opus):
                score = score.scores[0]
            mode = score.analyze("key").mode
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".tmp.mid")
            score.write("midi", fp=tmp)
            tmp.replace(out)
        except Exception as exc:  # a score music21 cannot handle is skipped, not fatal
            failed += 1
            print(f"warning: skipped {path}: {exc}", file=sys.stderr)
            continue
        composer = collection.split("_")[0] if collection.startswith("schumann") else collection
        rows.append(f"{collection}/{name}\t{composer}\t{collection}\t{mode}")
    with open(args.out_dir / "labels.tsv", "w", encoding="utf-8") as handle:
        handle.write("song\tcomposer\tcollection\tmode\n")
        handle.write("".join(r + "\n" for r in sorted(rows)))
    print(f"{len(rows)} MIDI files written to {args.out_dir} ({failed} skipped)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
