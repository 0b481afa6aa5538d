"""egs/chinese_poetry/deeprapper/local/shakespeare_sonnets.py: sonnet blocks after Roman numerals, as lyrics."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "egs" / "chinese_poetry" / "deeprapper" / "local" / "shakespeare_sonnets.py"


def test_sonnets_are_blocks_of_12_to_16_lines_after_a_numeral(tmp_path: Path) -> None:
    sonnet = [f"Line {k} of a made-up sonnet" for k in range(14)]
    text = ["THE SONNETS", "", "I", ""] + sonnet + ["", "II", ""] + sonnet[:12] + ["", "ACT I", "", "SCENE II", "",
            "A short block", "of two lines", "", "III", "", "Only three", "lines", "here", ""]
    source = tmp_path / "plays.txt.gz"
    with gzip.open(source, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(text) + "\n")
    out = tmp_path / "sonnets.txt"
    result = subprocess.run([sys.executable, str(SCRIPT), str(source), str(out)], capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == "\n".join(sonnet) + "\n\n" + "\n".join(sonnet[:12]) + "\n"
    assert "2 sonnets, 26 lines" in result.stderr
    empty = tmp_path / "none.txt.gz"
    with gzip.open(empty, "wt", encoding="utf-8") as handle:
        handle.write("no sonnets\n")
    result = subprocess.run([sys.executable, str(SCRIPT), str(empty), str(tmp_path / "x.txt")], capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1 and "no sonnets found" in result.stderr and not (tmp_path / "x.txt").exists()
