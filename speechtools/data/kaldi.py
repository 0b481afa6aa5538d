"""Kaldi-style data directories: ``wav.scp``, ``text``, ``utt2spk``, ``spk2utt``, ``segments``, ``durations``, ``spk_vectors.scp``.

Every file is UTF-8, one record per line, the key first, sorted by key (byte order, as
``LC_ALL=C sort``). Readers name the file and line of the first malformed record.

=============  ===============================================
file           line format
=============  ===============================================
wav.scp        ``uttid path`` or ``uttid cmd args |`` (a pipe)
text           ``uttid word word ...`` (may be empty after the key)
utt2spk        ``uttid spkid``
spk2utt        ``spkid utt1 utt2 ...``
segments       ``uttid wavid start_sec end_sec``
durations      ``uttid d1 d2 ... dN`` in frames, one per token
spk_vectors.scp ``uttid path.npy`` (a speaker vector; relative paths are relative to the directory)
=============  ===============================================
"""

from __future__ import annotations

import errno
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Set, Tuple, TypeVar

from speechtools.errors import PathLike, UserError
from speechtools.fileio import checked_id, read_lines, write_lines

V = TypeVar("V")

DATA_FILES = ("wav.scp", "text", "utt2spk", "spk2utt", "segments", "durations", "spk_vectors.scp")
# The fewest whitespace-separated fields (key included) on a line of each file.
MIN_FIELDS = {"wav.scp": 2, "text": 1, "utt2spk": 2, "spk2utt": 2, "segments": 4, "durations": 2, "spk_vectors.scp": 2}
# Files whose lines have an exact layout: every reader of a file of this name enforces it.
EXACT_LINES = {"utt2spk": "uttid spkid", "segments": "uttid recid start end"}
# Optional per-utterance tables: (DataDir attribute, file name).
UTT_TABLES = (("text", "text"), ("utt2spk", "utt2spk"), ("durations", "durations"), ("spk_vectors", "spk_vectors.scp"))


@dataclass(frozen=True)
class Segment:
    """One line of ``segments``: a span of a recording in ``wav.scp``."""

    wav_id: str
    start: float
    end: float


class Record(NamedTuple):
    """One line of a Kaldi table: its 1-based line number, the key and the rest of the line."""

    line: int
    key: str
    value: str


def data_file(root: PathLike, name: str) -> Optional[Path]:
    """``root/name`` if the directory has that file, ``None`` if there is nothing of that name.

    Something of that name that is not a readable file is never taken for an absent file.

    Raises:
        UserError: a symbolic link that points nowhere or loops, or a folder, naming the path.
    """
    path = Path(root) / name
    if not os.path.lexists(path):
        return None
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UserError("is a symbolic link that loops (it leads back to itself)", path) from None
        if exc.errno == errno.ENOENT and path.is_symlink():
            raise UserError(f"is a symbolic link to {os.readlink(path)!r}, which does not exist", path) from None
        raise UserError(f"cannot read: {os.strerror(exc.errno) if exc.errno else exc}", path) from None
    if path.is_dir():
        raise UserError(f"is a folder, expected the {name} file", path)
    return path


def _layout_error(layout: str, n_fields: int, path: PathLike, line: int) -> UserError:
    return UserError(f"expected '{layout}' (exactly {len(layout.split())} fields), got {n_fields}", path, line)


def read_records(
    path: PathLike, min_fields: int = 2, allow_empty_value: bool = False, layout: Optional[str] = None
) -> List[Record]:
    """Read ``key rest-of-line`` records in file order, keeping each line number.

    A file named in :data:`EXACT_LINES` (``utt2spk``, ``segments``) must have exactly that
    many fields on every line, whoever reads it.

    Args:
        path: the file.
        min_fields: the minimum number of whitespace-separated fields (key included).
        allow_empty_value: accept a bare key (e.g. an empty transcript in ``text``).
        layout: the exact fields of every line, e.g. ``"uttid spkid"`` (default: from
            :data:`EXACT_LINES` by the file's name).

    Raises:
        UserError: missing file, bad UTF-8, too few (or, for :data:`EXACT_LINES`, too many) fields,
            a duplicate key, or a key that is not safe as a file name
            (:func:`speechtools.fileio.checked_id`; keys become file names), naming the line.
    """
    records: List[Record] = []
    seen: Dict[str, int] = {}
    layout = layout if layout is not None else EXACT_LINES.get(Path(path).name)
    for number, line in read_lines(path):
        stripped = line.strip()
        if not stripped:
            raise UserError("empty line", path, number)
        key, _, rest = stripped.partition(" ")
        if "\t" in key:
            key, _, tail = key.partition("\t")
            rest = (tail + " " + rest).strip()
        rest = rest.strip()
        n_fields = 1 + len(rest.split())
        if layout is not None and n_fields != len(layout.split()):
            raise _layout_error(layout, n_fields, path, number)
        if (not rest and not allow_empty_value) or (rest and n_fields < min_fields):
            raise UserError(f"expected at least {min_fields} fields, got {n_fields}", path, number)
        if key in seen:
            raise UserError(f"duplicate key {key!r} (first on line {seen[key]})", path, number)
        checked_id(key, "key", path, number)
        seen[key] = number
        records.append(Record(number, key, rest))
    return records


def read_table(path: PathLike, min_fields: int = 2, allow_empty_value: bool = False) -> Dict[str, str]:
    """Read ``key rest-of-line`` records into an ordered dict.

    Args:
        path: the file.
        min_fields: the minimum number of whitespace-separated fields (key included).
        allow_empty_value: accept a bare key (e.g. an empty transcript in ``text``).

    Raises:
        UserError: missing file, bad UTF-8, too few fields, or a duplicate key (naming the line).
    """
    return {r.key: r.value for r in read_records(path, min_fields, allow_empty_value)}


def sort_key(key: str) -> bytes:
    """The C-locale (byte order) sort key of a table key, as ``LC_ALL=C sort`` orders it."""
    return key.encode("utf-8")


def check_sorted(records: Sequence[Record], path: PathLike) -> None:
    """Raise at the first record whose key sorts before the previous one (C byte order)."""
    for prev, cur in zip(records, records[1:]):
        if sort_key(cur.key) < sort_key(prev.key):
            raise UserError(
                f"not sorted: key {cur.key!r} comes after {prev.key!r} (line {prev.line}); "
                "sort with LC_ALL=C sort or run 'speechtools data fix'",
                path,
                cur.line,
            )


def read_spk2utt(path: PathLike) -> Dict[str, List[str]]:
    """Read ``spk2utt`` (``spkid utt1 utt2 ...``) into ``{speaker: [utterances]}``."""
    return {k: v.split() for k, v in read_table(path).items()}


def write_spk2utt(path: PathLike, spk2utt: Mapping[str, Iterable[str]]) -> None:
    """Write ``spk2utt`` sorted by speaker (utterances sorted within each speaker), atomically."""
    write_table(path, {k: " ".join(sorted(v, key=sort_key)) for k, v in spk2utt.items()})


def write_table(path: PathLike, table: Mapping[str, str]) -> None:
    """Write ``key value`` records sorted by key, atomically."""
    write_lines(path, [f"{k} {v}".rstrip() for k, v in sorted(table.items())])


def read_segments(path: PathLike) -> Dict[str, Segment]:
    """Read ``segments`` (``uttid recid start end``), checking finite times with 0 <= start < end."""
    return parse_segments(read_records(path, MIN_FIELDS["segments"], layout=EXACT_LINES["segments"]), path)


def parse_segments(records: Sequence[Record], path: PathLike) -> Dict[str, Segment]:
    """The :class:`Segment` of each ``segments`` record (``end`` may be -1: to the end of the recording).

    Raises:
        UserError: a time that is not a finite number of seconds, or not 0 <= start < end, naming the line.
    """
    out: Dict[str, Segment] = {}
    for r in records:
        fields = r.value.split()
        if len(fields) != 3:
            raise _layout_error(EXACT_LINES["segments"], len(fields) + 1, path, r.line)
        wav_id, start_text, end_text = fields
        try:
            start, end = float(start_text), float(end_text)
        except ValueError:
            raise UserError("start and end must be numbers (seconds)", path, r.line) from None
        if not (math.isfinite(start) and math.isfinite(end)):
            raise UserError(f"start and end must be finite numbers of seconds, got {start_text} {end_text}", path, r.line)
        if not 0 <= start < end and not (end == -1 and start >= 0):
            raise UserError(f"need 0 <= start < end, got {start} {end}", path, r.line)
        out[r.key] = Segment(wav_id, start, end)
    return out


def read_durations(path: PathLike) -> Dict[str, List[int]]:
    """Read ``durations`` (``uttid d1 ... dN``), checking every entry is an integer >= 0."""
    return parse_durations(read_records(path, MIN_FIELDS["durations"]), path)


def parse_durations(records: Sequence[Record], path: PathLike) -> Dict[str, List[int]]:
    """The frame counts of each ``durations`` record.

    Raises:
        UserError: an entry that is not an integer >= 0, naming the line.
    """
    out: Dict[str, List[int]] = {}
    for r in records:
        try:
            values = [int(v) for v in r.value.split()]
        except ValueError:
            raise UserError("durations must be integers (frames)", path, r.line) from None
        if any(v < 0 for v in values):
            raise UserError("durations must be >= 0", path, r.line)
        out[r.key] = values
    return out


def read_data_records(root: PathLike, names: Sequence[str] = DATA_FILES) -> Dict[str, List[Record]]:
    """The records of each present file of ``names`` in the data directory ``root``, each file read once.

    Raises:
        UserError: as :func:`data_file` and :func:`read_records` (``text`` may have bare keys).
    """
    out: Dict[str, List[Record]] = {}
    for name in names:
        path = data_file(root, name)
        if path is not None:
            out[name] = read_records(path, MIN_FIELDS[name], allow_empty_value=(name == "text"))
    return out


def write_durations(path: PathLike, durations: Mapping[str, Iterable[int]]) -> None:
    """Write ``durations`` sorted by key, atomically."""
    write_lines(path, [f"{k} {' '.join(str(int(d)) for d in v)}" for k, v in sorted(durations.items())])


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> Dict[str, List[str]]:
    """Invert ``utt2spk`` (utterances in sorted order within each speaker)."""
    out: Dict[str, List[str]] = {}
    for utt in sorted(utt2spk):
        out.setdefault(utt2spk[utt], []).append(utt)
    return dict(sorted(out.items()))


@dataclass
class DataDir:
    """An in-memory Kaldi data directory. Absent optional files are ``None``."""

    wav_scp: Dict[str, str] = field(default_factory=dict)
    text: Optional[Dict[str, str]] = None
    utt2spk: Optional[Dict[str, str]] = None
    segments: Optional[Dict[str, Segment]] = None
    durations: Optional[Dict[str, List[int]]] = None
    spk_vectors: Optional[Dict[str, str]] = None
    path: Optional[Path] = None
    lines: Dict[str, Dict[str, int]] = field(default_factory=dict)
    """Where each key was read: ``{file name: {key: line}}`` (empty for a directory built in memory)."""

    @classmethod
    def load(cls, path: PathLike, files: Optional[Sequence[str]] = None) -> "DataDir":
        """Read every present file of the directory ``path`` but ``spk2utt`` (derived from ``utt2spk``), each once.

        ``files`` limits the reading to those files (``wav.scp`` is always read). The line of
        every key is kept in :attr:`lines`.
        """
        root = Path(path)
        if not root.is_dir():
            raise UserError("data directory not found", root)
        names = [name for name in DATA_FILES if name != "spk2utt" and (files is None or name in files or name == "wav.scp")]
        records = read_data_records(root, names)
        if "wav.scp" not in records:
            raise UserError("missing wav.scp", root)

        def table(name: str) -> Optional[Dict[str, str]]:
            return {r.key: r.value for r in records[name]} if name in records else None

        spk_vectors = table("spk_vectors.scp")
        if spk_vectors is not None:
            spk_vectors = {u: p if Path(p).is_absolute() else str((root / p).resolve()) for u, p in spk_vectors.items()}
        return cls(
            wav_scp=table("wav.scp") or {},
            text=table("text"),
            utt2spk=table("utt2spk"),
            segments=parse_segments(records["segments"], root / "segments") if "segments" in records else None,
            durations=parse_durations(records["durations"], root / "durations") if "durations" in records else None,
            spk_vectors=spk_vectors,
            path=root,
            lines={name: {r.key: r.line for r in recs} for name, recs in records.items()},
        )

    def utt_ids(self) -> List[str]:
        """Utterance ids in sorted order (from ``segments`` when present, else ``wav.scp``)."""
        return sorted(self.segments if self.segments is not None else self.wav_scp)

    def speakers(self) -> List[str]:
        """Speaker ids in sorted order (empty without ``utt2spk``)."""
        return sorted(set(self.utt2spk.values())) if self.utt2spk is not None else []

    def select(self, utts: Iterable[str]) -> "DataDir":
        """A new directory holding only ``utts`` (and, with ``segments``, the recordings they use)."""
        keep: Set[str] = set(utts)
        segments = None
        if self.segments is not None:
            segments = {u: s for u, s in self.segments.items() if u in keep}
            recordings = {s.wav_id for s in segments.values()}
            wav_scp = {r: v for r, v in self.wav_scp.items() if r in recordings}
        else:
            wav_scp = {u: v for u, v in self.wav_scp.items() if u in keep}

        def pick(table: Optional[Dict[str, V]]) -> Optional[Dict[str, V]]:
            return None if table is None else {u: v for u, v in table.items() if u in keep}

        return DataDir(
            wav_scp=wav_scp,
            text=pick(self.text),
            utt2spk=pick(self.utt2spk),
            segments=segments,
            durations=pick(self.durations),
            spk_vectors=pick(self.spk_vectors),
            path=None,
        )

    def save(self, path: PathLike) -> None:
        """Write the directory (``spk2utt`` derived from ``utt2spk``), each file atomically."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        write_table(root / "wav.scp", self.wav_scp)
        if self.text is not None:
            write_table(root / "text", self.text)
        if self.utt2spk is not None:
            write_table(root / "utt2spk", self.utt2spk)
            write_table(root / "spk2utt", {k: " ".join(v) for k, v in utt2spk_to_spk2utt(self.utt2spk).items()})
        if self.segments is not None:
            write_lines(
                root / "segments",
                [
                    f"{u} {s.wav_id} {format_seconds(s.start)} {format_seconds(s.end)}"
                    for u, s in sorted(self.segments.items())
                ],
            )
        if self.durations is not None:
            write_durations(root / "durations", self.durations)
        if self.spk_vectors is not None:
            write_table(root / "spk_vectors.scp", self.spk_vectors)


def format_seconds(value: float) -> str:
    """Seconds with 3 decimals when that is exact, else the shortest round-trip form."""
    short = f"{value:.3f}"
    return short if float(short) == value else repr(value)


def wav_entry_is_pipe(entry: str) -> bool:
    """True when a ``wav.scp`` value is a command whose stdout is the audio (``... |``)."""
    return entry.rstrip().endswith("|")


def split_wav_entry(entry: str) -> Tuple[str, bool]:
    """Return ``(path_or_command, is_pipe)`` for a ``wav.scp`` value."""
    stripped = entry.rstrip()
    if stripped.endswith("|"):
        return stripped[:-1].rstrip(), True
    return stripped, False
