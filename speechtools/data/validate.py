"""Check a Kaldi data directory and name the first bad file and line (like Kaldi's
``utils/validate_data_dir.sh``).

Checks, in this order, stopping at the first problem:

1. each present file (``wav.scp``, ``text``, ``utt2spk``, ``spk2utt``, ``segments``,
   ``durations``) is UTF-8, well formed, free of duplicate keys and sorted by key in C byte order;
2. ``segments`` only names recordings of ``wav.scp``;
3. ``text``, ``utt2spk`` and ``durations`` hold exactly the utterances of ``segments``
   (or of ``wav.scp`` without segments);
4. ``spk2utt`` is the inverse of ``utt2spk``;
5. ``durations`` has one entry per whitespace token of ``text`` and, with a feature store's
   ``<name>_shape`` file, sums to its frame count ``T`` exactly;
6. audio files named in ``wav.scp`` exist (pipes ``cmd |`` are not run).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from tqdm import tqdm

from speechtools.data.kaldi import (
    Record,
    check_sorted,
    data_file,
    parse_durations,
    parse_segments,
    read_data_records,
    sort_key,
    split_wav_entry,
    utt2spk_to_spk2utt,
)
from speechtools.data.shapes import find_shape_file, read_shapes
from speechtools.errors import PathLike, UserError

CHECKED_FILES = ("wav.scp", "text", "utt2spk", "spk2utt", "segments", "durations")


@dataclass
class Summary:
    """What a valid directory holds."""

    path: Path
    n_utts: int
    n_speakers: int
    n_recordings: int
    files: List[str] = field(default_factory=list)
    shape_file: Optional[Path] = None

    def line(self) -> str:
        """One-line report, e.g. ``data/train: OK: 32 utterances, 1 speaker, ...``."""
        parts = [f"{self.n_utts} utterance{'s' if self.n_utts != 1 else ''}"]
        if self.n_speakers:
            parts.append(f"{self.n_speakers} speaker{'s' if self.n_speakers != 1 else ''}")
        if "segments" in self.files:
            parts.append(f"{self.n_recordings} recording{'s' if self.n_recordings != 1 else ''}")
        parts.append("files: " + " ".join(self.files))
        if self.shape_file is not None:
            parts.append(f"durations match {self.shape_file}")
        return f"{self.path}: OK: " + ", ".join(parts)


def _first_divergence(
    records: Sequence[Record], expected: Sequence[str], path: Path, reference: str, ref_lines: Dict[str, int]
) -> None:
    """Walk two sorted key lists together; raise at the first key that is extra or missing."""
    i = j = 0
    while i < len(records) or j < len(expected):
        have = records[i] if i < len(records) else None
        want = expected[j] if j < len(expected) else None
        if have is not None and want is not None and have.key == want:
            i += 1
            j += 1
            continue
        if have is not None and (want is None or sort_key(have.key) < sort_key(want)):
            raise UserError(f"key {have.key!r} is not in {reference}", path, have.line)
        line = have.line if have is not None else (records[-1].line + 1 if records else 1)
        where = f"{reference}:{ref_lines[want]}" if want in ref_lines else reference
        raise UserError(f"missing key {want!r} (present in {where})", path, line)


def _check_wav_scp(records: Sequence[Record], path: Path, check_files: bool) -> None:
    # Stat-ing many files on a network disk takes a while: show progress on a terminal only.
    for record in tqdm(records, desc=f"checking {path}", unit="file", disable=None if check_files else True, leave=False):
        target, is_pipe = split_wav_entry(record.value)
        if is_pipe:
            if not target:
                raise UserError("empty command before '|'", path, record.line)
            continue
        if len(target.split()) != 1:
            raise UserError("expected one audio path, or a command ending in '|'", path, record.line)
        if check_files and not os.path.isfile(target):
            what = "audio path is a folder, not an audio file" if os.path.isdir(target) else "audio file not found"
            raise UserError(f"{what}: {target}", path, record.line)


def count_tokens(frontend: Optional[str]) -> Callable[[str], int]:
    """How a transcript's tokens are counted against its durations: whitespace tokens (a text that
    is already tokenised), or the tokens of the front-end ``frontend`` (``en_phone``: what the TTS
    recipes' durations count)."""
    if frontend is None:
        return lambda text: len(text.split())
    from speechtools.text.frontend import get_frontend

    front = get_frontend(frontend)
    return lambda text: len(front.tokenize(text))


def validate_data_dir(path: PathLike, check_files: bool = True, feats: Optional[PathLike] = None,
                      frontend: Optional[str] = None) -> Summary:
    """Validate the data directory ``path``; return a :class:`Summary` or raise at the first bad line.

    Args:
        path: the data directory.
        check_files: check that audio files named in ``wav.scp`` exist (relative paths are
            relative to the current directory, as in Kaldi).
        feats: a feature store directory (``dump/<set>``) or its ``<name>_shape`` file; when
            given, every utterance's durations must sum to its frame count.
        frontend: count each transcript's tokens with this text front-end (:func:`count_tokens`).

    Raises:
        UserError: naming the first bad ``file:line``.
    """
    root = Path(path)
    if not root.is_dir():
        raise UserError("data directory not found", root)
    if data_file(root, "wav.scp") is None:
        raise UserError("missing wav.scp", root / "wav.scp")
    records: Dict[str, List[Record]] = read_data_records(root, CHECKED_FILES)
    for name, recs in records.items():
        check_sorted(recs, root / name)
    segments = parse_segments(records["segments"], root / "segments") if "segments" in records else None
    durations = parse_durations(records["durations"], root / "durations") if "durations" in records else None
    if not records["wav.scp"]:
        raise UserError("no utterances (wav.scp is empty)", root / "wav.scp")

    wav_lines = {r.key: r.line for r in records["wav.scp"]}
    if segments is not None:
        for r in records["segments"]:
            if segments[r.key].wav_id not in wav_lines:
                raise UserError(f"recording {segments[r.key].wav_id!r} is not in wav.scp", root / "segments", r.line)
        reference = "segments"
    else:
        reference = "wav.scp"
    ref_lines = {r.key: r.line for r in records[reference]}
    utts = [r.key for r in records[reference]]
    if not utts:
        raise UserError("no utterances", root / reference)
    for name in ("text", "utt2spk", "durations"):
        if name in records:
            _first_divergence(records[name], utts, root / name, reference, ref_lines)

    n_speakers = 0
    if "spk2utt" in records and "utt2spk" not in records:
        raise UserError("spk2utt without utt2spk", root / "spk2utt")
    if "utt2spk" in records:
        if "spk2utt" not in records:
            raise UserError("missing spk2utt (run 'speechtools data fix' to make it)", root / "spk2utt")
        utt2spk = {r.key: r.value for r in records["utt2spk"]}
        expected = utt2spk_to_spk2utt(utt2spk)
        spk_lines: Dict[str, int] = {}
        for r in records["utt2spk"]:
            spk_lines.setdefault(r.value, r.line)
        spk_records = records["spk2utt"]
        _first_divergence(spk_records, list(expected), root / "spk2utt", "utt2spk", spk_lines)
        for r in spk_records:
            listed = r.value.split()
            if listed != expected[r.key]:
                if sorted(listed, key=sort_key) == expected[r.key]:
                    what = "utterances not sorted"
                else:
                    missing = sorted(set(expected[r.key]) - set(listed))
                    extra = sorted(set(listed) - set(expected[r.key]))
                    what = "; ".join(
                        p
                        for p in (
                            f"lacks {' '.join(missing[:3])}" if missing else "",
                            f"has {' '.join(extra[:3])} not given to this speaker by utt2spk" if extra else "",
                        )
                        if p
                    ) or "utterance list differs from utt2spk"
                raise UserError(f"speaker {r.key!r}: {what}", root / "spk2utt", r.line)
        n_speakers = len(expected)

    shape_file = None
    if durations is not None:
        if "text" not in records:
            raise UserError("durations need a text file (one duration per token)", root / "durations")
        tokens_of = count_tokens(frontend)
        text_lines = {r.key: (r.line, tokens_of(r.value)) for r in records["text"]}
        for r in records["durations"]:
            n_tokens = len(durations[r.key])
            text_line, n_text = text_lines[r.key]
            if n_tokens != n_text:
                raise UserError(
                    f"{n_tokens} durations for {n_text} tokens in text:{text_line} (utterance {r.key!r}; "
                    f"{'--frontend ' + frontend if frontend else 'whitespace tokens: pass --frontend NAME for phones'})",
                    root / "durations",
                    r.line,
                )
        if feats is not None:
            shape_file = find_shape_file(feats)
            shapes = read_shapes(shape_file)
            for r in records["durations"]:
                if r.key not in shapes:
                    raise UserError(f"utterance {r.key!r} is not in {shape_file}", root / "durations", r.line)
                shape_line, dims = shapes[r.key]
                total = sum(durations[r.key])
                if total != dims[0]:
                    raise UserError(
                        f"durations sum to {total} frames but {shape_file}:{shape_line} has {dims[0]}",
                        root / "durations",
                        r.line,
                    )
    elif feats is not None:
        raise UserError("--feats given but the directory has no durations file", root / "durations")

    _check_wav_scp(records["wav.scp"], root / "wav.scp", check_files)
    return Summary(
        path=root,
        n_utts=len(utts),
        n_speakers=n_speakers,
        n_recordings=len(records["wav.scp"]),
        files=[name for name in CHECKED_FILES if name in records],
        shape_file=shape_file,
    )
