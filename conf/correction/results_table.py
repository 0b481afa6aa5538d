#!/usr/bin/env python3
"""One Markdown row of a correction recipe's results table from ``speechtools score correction --json``.

``results_table.py --header`` prints the header; ``results_table.py SYSTEM SET METRICS_JSON``
prints the row (WER in %, WERR in %, P_edit/R_edit/P_right as fractions).
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
        print(f"| {system} | {name} | {m['wer_before']:.2f} | {m['wer_after']:.2f} | {m['werr']:.2f} | "
              f"{m['p_edit']:.3f} | {m['r_edit']:.3f} | {m['p_right']:.3f} |")
