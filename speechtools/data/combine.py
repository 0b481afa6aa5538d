"""Merge data directories into one, like Kaldi's ``utils/combine_data.sh``.

Utterance and recording ids must be unique across sources (a duplicate is an error naming it and
both places). ``text``, ``utt2spk``, ``durations`` and ``spk_vectors.scp`` are kept only when every source has them.
When only some sources have ``segments``, the others get whole-recording segments
(``uttid uttid 0 -1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence

from speechtools.data.kaldi import UTT_TABLES, DataDir, Segment, read_records
from speechtools.data.outdir import check_replaceable
from speechtools.fileio import atomic_dir
from speechtools.errors import PathLike, UserError


@dataclass
class CombineReport:
    """What :func:`combine_data_dirs` wrote and which optional files it left out."""

    path: Path
    n_utts: int
    omitted: List[str] = field(default_factory=list)

    def lines(self) -> List[str]:
        """Human-readable report lines."""
        out = [f"{self.path}: combined {self.n_utts} utterances"]
        if self.omitted:
            out.append("  omitted (not in every source): " + " ".join(self.omitted))
        return out


def _line_of(path: Path, key: str) -> int:
    return next(r.line for r in read_records(path, min_fields=1, allow_empty_value=True) if r.key == key)


def combine_data_dirs(dst: PathLike, srcs: Sequence[PathLike]) -> CombineReport:
    """Write the union of ``srcs`` as the data directory ``dst`` (replaced atomically).

    Raises:
        UserError: fewer than one source, ``dst`` among the sources, or a duplicate id.
    """
    if not srcs:
        raise UserError("give at least one source directory")
    out = Path(dst)
    if any(Path(s).resolve() == out.resolve() for s in srcs):
        raise UserError("destination must differ from every source", out)
    dirs = [DataDir.load(s) for s in srcs]
    any_segments = any(d.segments is not None for d in dirs)
    merged = DataDir(
        wav_scp={},
        text={} if all(d.text is not None for d in dirs) else None,
        utt2spk={} if all(d.utt2spk is not None for d in dirs) else None,
        segments={} if any_segments else None,
        durations={} if all(d.durations is not None for d in dirs) else None,
        spk_vectors={} if all(d.spk_vectors is not None for d in dirs) else None,
    )
    omitted = [
        name for attr, name in UTT_TABLES
        if getattr(merged, attr) is None and any(getattr(d, attr) is not None for d in dirs)
    ]
    utt_owner: Dict[str, Path] = {}
    rec_owner: Dict[str, Path] = {}
    for src, data in zip(srcs, dirs):
        src = Path(src)
        key_file = src / ("segments" if data.segments is not None else "wav.scp")
        for utt in data.utt_ids():
            if utt in utt_owner:
                first = utt_owner[utt]
                first_file = first / ("segments" if (first / "segments").exists() else "wav.scp")
                raise UserError(
                    f"duplicate utterance {utt!r} (also in {first_file}:{_line_of(first_file, utt)})",
                    key_file,
                    _line_of(key_file, utt),
                )
            utt_owner[utt] = src
        for rec in data.wav_scp:
            if rec in rec_owner:
                raise UserError(
                    f"duplicate recording {rec!r} (also in {rec_owner[rec] / 'wav.scp'}:"
                    f"{_line_of(rec_owner[rec] / 'wav.scp', rec)})",
                    src / "wav.scp",
                    _line_of(src / "wav.scp", rec),
                )
            rec_owner[rec] = src
        merged.wav_scp.update(data.wav_scp)
        if merged.segments is not None:
            merged.segments.update(
                data.segments if data.segments is not None else {u: Segment(u, 0.0, -1.0) for u in data.wav_scp}
            )
        for attr, _ in UTT_TABLES:
            table = getattr(merged, attr)
            if table is not None:
                table.update(getattr(data, attr))
    check_replaceable(out)
    with atomic_dir(out) as tmp:
        merged.save(tmp)
    return CombineReport(path=out, n_utts=len(utt_owner), omitted=omitted)
