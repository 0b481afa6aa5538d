"""egs/music21/songmass/local/paired_bootstrap.py: per-song differences against a baseline, worked example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "egs" / "music21" / "songmass" / "local" / "paired_bootstrap.py"


def write(exp: Path, system: str, songs: list) -> None:
    (exp / f"{system}_t").mkdir(parents=True)
    (exp / f"{system}_t" / "test_melody.json").write_text(json.dumps({"per_song": [dict(zip(("pd", "dd", "md"), s)) for s in songs]}))


def test_paired_differences_intervals_and_songs_ahead(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    write(exp, "base", [(0.5, 0.5, 2.0), (0.4, 0.6, 1.0), (0.3, 0.7, 3.0)])
    # PD: +0.1 on every song; DD: +0.3 on the third only; MD: -1 (better), +1, 0.
    write(exp, "new", [(0.6, 0.5, 1.0), (0.5, 0.6, 2.0), (0.4, 1.0, 3.0)])
    result = subprocess.run([sys.executable, str(SCRIPT), str(exp), "t", "base", "base", "new"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = {line.split(" | ")[1]: line for line in result.stdout.splitlines()[2:]}
    assert list(rows) == ["PD", "DD", "MD"]
    assert "| +0.1000 | +0.1000 … +0.1000 | 3 of 3 |" in rows["PD"]
    # Resample means of (0, 0, 0.3): 0 with probability (2/3)^3 > 2.5 %, 0.3 with 1/27 > 2.5 %.
    assert "| +0.1000 | +0.0000 … +0.3000 | 1 of 3 |" in rows["DD"]
    assert "| +0.0000 |" in rows["MD"] and rows["MD"].endswith("| 1 of 3 |")


def test_song_counts_must_match(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    write(exp, "base", [(0.5, 0.5, 2.0)])
    write(exp, "new", [(0.5, 0.5, 2.0), (0.5, 0.5, 2.0)])
    result = subprocess.run([sys.executable, str(SCRIPT), str(exp), "t", "base", "new"], capture_output=True, text=True)
    assert result.returncode == 1 and "new: 2 test songs but base: 1" in result.stderr
