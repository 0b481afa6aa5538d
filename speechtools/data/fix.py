"""Repair a data directory like Kaldi's ``utils/fix_data_dir.sh``: keep the utterances present in
every file, sort every file, regenerate ``spk2utt``, and report what was dropped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set

from speechtools.data.kaldi import DATA_FILES, UTT_TABLES, DataDir, data_file, read_spk2utt
from speechtools.data.validate import count_tokens
from speechtools.errors import PathLike, UserError

SHOWN_IDS = 3


@dataclass
class FixReport:
    """The outcome of :func:`fix_data_dir`: kept utterances and, per file, the dropped keys."""

    path: Path
    n_before: int
    n_kept: int
    dropped: Dict[str, List[str]] = field(default_factory=dict)

    def lines(self) -> List[str]:
        """Human-readable report: a summary line, then one line per file that lost keys."""
        head = f"{self.path}: kept {self.n_kept} of {self.n_before} utterances"
        if not any(self.dropped.values()):
            return [head + "; nothing dropped"]
        out = [head]
        for name, keys in self.dropped.items():
            if keys:
                shown = ", ".join(keys[:SHOWN_IDS]) + (", ..." if len(keys) > SHOWN_IDS else "")
                out.append(f"  {name}: dropped {len(keys)} ({shown})")
        return out


def fix_data_dir(path: PathLike, backup: bool = True, frontend: Optional[str] = None) -> FixReport:
    """Keep the intersection of utterance keys across files, sort, regenerate ``spk2utt``.

    Utterances are dropped when a file lacks them, when their ``segments`` recording is not in
    ``wav.scp``, or when their ``durations`` count differs from their ``text`` token count
    (whitespace tokens, or those of the front-end ``frontend``: :func:`speechtools.data.validate.count_tokens`).
    The original files are copied to ``DIR/.backup/`` first; the new files are all written
    before any replaces its original (each by an atomic rename).

    Raises:
        UserError: unreadable files (naming the line), or no utterance left.
    """
    root = Path(path)
    data = DataDir.load(root)
    spk2utt = data_file(root, "spk2utt")
    if data.utt2spk is None and spk2utt is not None:
        data.utt2spk = {u: spk for spk, utts in read_spk2utt(spk2utt).items() for u in utts}
    candidates: Set[str] = set(data.segments if data.segments is not None else data.wav_scp)
    n_before = len(candidates)
    keep = set(candidates)
    if data.segments is not None:
        keep = {u for u in keep if data.segments[u].wav_id in data.wav_scp}
    for attr, _ in UTT_TABLES:
        table = getattr(data, attr)
        if table is not None:
            keep &= set(table)
    if data.durations is not None and data.text is not None:
        tokens_of = count_tokens(frontend)
        keep = {u for u in keep if len(data.durations[u]) == tokens_of(data.text[u])}
    if not keep:
        raise UserError("no utterance is present in every file; nothing to keep", root)
    fixed = data.select(keep)

    dropped: Dict[str, List[str]] = {}
    if data.segments is not None:
        dropped["segments"] = sorted(set(data.segments) - keep)
        dropped["wav.scp"] = sorted(set(data.wav_scp) - set(fixed.wav_scp))
    else:
        dropped["wav.scp"] = sorted(set(data.wav_scp) - keep)
    for attr, name in UTT_TABLES:
        table = getattr(data, attr)
        if table is not None:
            dropped[name] = sorted(set(table) - keep)

    if backup:
        backup_dir = root / ".backup"
        backup_dir.mkdir(exist_ok=True)
        for name in DATA_FILES:
            if (root / name).exists():
                shutil.copyfile(root / name, backup_dir / name)
    with tempfile.TemporaryDirectory(prefix=".fix.", dir=root) as tmp:
        fixed.save(tmp)
        for name in DATA_FILES:
            if (Path(tmp) / name).exists():
                os.replace(Path(tmp) / name, root / name)
    return FixReport(path=root, n_before=n_before, n_kept=len(keep), dropped=dropped)
