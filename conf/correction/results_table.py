#!/usr/bin/env python3
"""One Markdown row of a correction recipe's results table from ``speechtools score correction --json``.

``results_table.py --header`` prints the header; ``results_table.py SYSTEM SET METRICS_JSON``
prints the row (WER in %, WERR in %, P_edit/R_edit/P_right as fractions). An undefined ratio
(``null`` in the JSON, e.g. P_edit when nothing was edited) prints as "–".
"""

import json
import sys

if __name__ == "__main__":
    if sys.argv[1:] == ["--header"]:
        print("| system | set | WER before % | WER after % | WERR % | P_edit | R_edit | P_right |")
        print("|---|---|---|---|---|---|---|---|")
    else:
        system, name, path = sys.argv[1:4]
        with open(path, encoding="utf-8") as handle:
            m = json.load(handle)

        def cell(key: str, digits: int) -> str:
            return "–" if m[key] is None else f"{m[key]:.{digits}f}"

        print(f"| {system} | {name} | {cell('wer_before', 2)} | {cell('wer_after', 2)} | {cell('werr', 2)} | "
              f"{cell('p_edit', 3)} | {cell('r_edit', 3)} | {cell('p_right', 3)} |")
