"""OctupleMIDI: MIDI ↔ sequence of 8-tuples (MusicBERT, Zeng et al. 2021, Sec. 3.1).

Encoding follows ``MIDI_to_encoding`` of microsoft/muzic ``musicbert/preprocess.py`` with
miditoolkit 1.0.1, vectorised over notes, with these defined behaviours where the original
misbehaves or does not say:

* **Time-signature change inside a bar.** The original's ``assert cnt == measure_length``
  cannot actually fire (the bar length is fixed at the bar's first position and the counter
  grows by one), so in effect a change takes effect at the next bar line there too; but the
  original labels the notes after the change *inside* the bar with the new signature, so
  decoding (signature per bar = majority of its notes) can give that bar the wrong length
  and shift every later note. Here a change takes effect at the next bar line (if several
  fall inside one bar, the last one wins) and the ``time_signature`` field of every note is
  the signature of its bar, so encode -> decode -> encode is identical and every onset is
  kept; the written MIDI carries the change at that bar line. Files without mid-bar changes
  encode exactly as the original.
* **Absurd values** (negative ticks or ticks >= 2**31, ticks per beat <= 0, a time
  signature that does not reduce into the 254-entry table) raise :class:`UserError`
  naming the file. A corrupt or unreadable MIDI file raises :class:`UserError` too, saying
  what is wrong in MIDI terms where it can (only a header, a truncated track, a zero tempo:
  :func:`midi_problem`). Decoding writes ticks per beat 1..32767 only (the header's 15 bits).
* **Files with no notes** encode to an empty (0, 8) array.
* Notes whose onset is at or beyond 2**16 positions are dropped (as the reference); a note
  ending before it starts gets duration 0.

Bars are absolute (0, 1, 2, ...) and may exceed 255 in long files; model windows rebase
them into [0, 256) (see :mod:`speechtools.music.windowing`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import List, Optional, Tuple, Union

import miditoolkit
import numpy as np

from speechtools.errors import PathLike, UserError
from speechtools.music import vocab as V

MidiSource = Union[PathLike, miditoolkit.MidiFile]
TICK_LIMIT = 2**31
EMPTY = np.zeros((0, 8), dtype=np.int64)


def load_midi(path: PathLike) -> miditoolkit.MidiFile:
    """Read a MIDI file with miditoolkit; any parse failure is a :class:`UserError` naming it.

    The message says what is wrong in MIDI terms where :func:`midi_problem` can tell (a file
    with only a header, a truncated track, a zero tempo), else quotes the parser.
    """
    p = Path(path)
    if not p.exists():
        raise UserError("no such file", p)
    if p.is_dir():
        raise UserError("is a directory, expected a MIDI file", p)
    data = p.read_bytes()
    try:
        return miditoolkit.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError, ...
        reason = str(exc).strip() or type(exc).__name__
        raise UserError(midi_problem(data) or f"corrupt or unreadable MIDI file ({reason})", p) from None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def midi_problem(data: bytes) -> Optional[str]:
    """What is wrong with the bytes of a MIDI file that does not load, in MIDI terms, or ``None`` if unknown.

    Walks the chunks (``MThd``, then ``MTrk`` tracks) and, when they are whole, looks for a
    ``set_tempo`` of 0 microseconds per beat (an infinite tempo).
    """
    if data[:4] != b"MThd":
        return "not a MIDI file: it does not start with an 'MThd' header"
    if len(data) < 14:
        return f"truncated: the file ends inside its 'MThd' header ({len(data)} bytes; a MIDI header has 14)"
    header_size = int.from_bytes(data[4:8], "big")
    declared = int.from_bytes(data[10:12], "big")
    offset, found = 8 + header_size, 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset + 4:offset + 8], "big")
        if offset + 8 + size > len(data):
            return f"truncated: track {found + 1} declares {size} bytes but the file ends after {len(data) - offset - 8}"
        found += data[offset:offset + 4] == b"MTrk"
        offset += 8 + size
    if found == 0:
        if declared == 0:
            return "has only a header (MThd) and no track: no notes, tempo or time signature"
        return f"has only a header (MThd): it declares {_plural(declared, 'track')} but the file ends after the header"
    if found < declared:
        return f"truncated: the header declares {_plural(declared, 'track')}, the file holds {found}"
    import mido  # miditoolkit's parser

    try:
        tracks = mido.MidiFile(file=io.BytesIO(data)).tracks
    except Exception:  # noqa: BLE001 - any parser failure: nothing more to say than the caller's message
        return None
    for number, track in enumerate(tracks, start=1):
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "set_tempo" and message.tempo == 0:
                return f"zero tempo: a set_tempo of 0 microseconds per beat in track {number} at tick {tick}"
    return None


def _ticks_to_pos(ticks: np.ndarray, tpb: int) -> np.ndarray:
    """round(t * 16 / tpb) with round-half-to-even, as Python's ``round`` in the reference."""
    return np.rint(np.asarray(ticks, dtype=np.float64) * V.POS_RESOLUTION / tpb).astype(np.int64)


def _check_values(midi: miditoolkit.MidiFile, where: str) -> None:
    tpb = midi.ticks_per_beat
    if not (0 < tpb < TICK_LIMIT):
        raise UserError(f"bad ticks per beat {tpb}", where)
    for ts in midi.time_signature_changes:
        if not (0 < ts.numerator < TICK_LIMIT and 0 < ts.denominator < TICK_LIMIT and 0 <= ts.time < TICK_LIMIT):
            raise UserError(f"bad time signature {ts.numerator}/{ts.denominator} at tick {ts.time}", where)
    for tempo in midi.tempo_changes:
        if not (0 <= tempo.time < TICK_LIMIT) or not np.isfinite(tempo.tempo) or tempo.tempo <= 0:
            raise UserError(f"bad tempo {tempo.tempo} at tick {tempo.time}", where)


def _ts_code(numerator: int, denominator: int, where: str) -> int:
    reduced = V.reduce_time_signature(numerator, denominator)
    if reduced not in V.TS_INDEX:
        raise UserError(f"unsupported time signature {numerator}/{denominator}", where)
    return V.TS_INDEX[reduced]


def bar_segments(ts_events: List[Tuple[int, int]], default_ts: int) -> np.ndarray:
    """Bar layout from time-signature events ``(position, ts_code)`` sorted by position.

    Returns an array of rows ``(start_position, first_bar, measure_length, ts_code)``; a
    change inside a bar takes effect at that bar's closing bar line (module docstring).
    """
    segments: List[List[int]] = [[0, 0, int(V.MEASURE_LENGTHS[default_ts]), default_ts]]
    for pos, code in ts_events:
        start, first_bar, length, current = segments[-1]
        k = max(0, -(-(pos - start) // length))
        line = start + k * length
        if line == start:
            if len(segments) > 1 and segments[-2][3] == code:
                segments.pop()
            else:
                segments[-1] = [start, first_bar, int(V.MEASURE_LENGTHS[code]), code]
        elif code != current:
            segments.append([line, first_bar + k, int(V.MEASURE_LENGTHS[code]), code])
    return np.asarray(segments, dtype=np.int64)


def encode(source: MidiSource, name: Optional[PathLike] = None) -> np.ndarray:
    """MIDI → OctupleMIDI (N, 8) int64 array in code field order, sorted as tuples.

    Implements ``MIDI_to_encoding`` of MusicBERT's preprocess.py (positions
    round(tick * 16 / tpb); per-note bar, position-in-bar, program (128 for drums), pitch
    (+128 for drums), grouped duration bin, velocity // 4, bar time signature, log tempo).

    Args:
        source: a path or an already loaded ``miditoolkit.MidiFile``.
        name: file name used in error messages when ``source`` is an object.

    Raises:
        UserError: corrupt file, absurd values or an unsupported time signature.
    """
    if isinstance(source, miditoolkit.MidiFile):
        midi = source
        where = str(name) if name is not None else "<midi>"
    else:
        midi = load_midi(source)
        where = str(source)
    _check_values(midi, where)
    tpb = int(midi.ticks_per_beat)

    starts, ends, pitches, velocities, programs = [], [], [], [], []
    for inst in midi.instruments:
        if not inst.notes:
            continue
        arr = np.asarray([(n.start, n.end, n.pitch, n.velocity) for n in inst.notes], dtype=np.int64)
        times_ok = (arr[:, :2] >= 0) & (arr[:, :2] < TICK_LIMIT)
        if not times_ok.all():
            start, end = arr[np.nonzero(~times_ok.all(axis=1))[0][0], :2]
            raise UserError(f"note time out of range (start {start}, end {end} ticks)", where)
        values_ok = (arr[:, 2:] >= 0) & (arr[:, 2:] <= 127)
        if not values_ok.all():
            pitch, velocity = arr[np.nonzero(~values_ok.all(axis=1))[0][0], 2:]
            raise UserError(f"note pitch/velocity out of range ({pitch}, {velocity})", where)
        drum = bool(inst.is_drum)
        starts.append(arr[:, 0])
        ends.append(arr[:, 1])
        pitches.append(arr[:, 2] + (128 if drum else 0))
        velocities.append(arr[:, 3])
        programs.append(np.full(len(arr), V.DRUM_PROGRAM if drum else int(inst.program), dtype=np.int64))
    if not starts:
        return EMPTY.copy()
    start = _ticks_to_pos(np.concatenate(starts), tpb)
    end = _ticks_to_pos(np.concatenate(ends), tpb)
    keep = start < V.TRUNC_POS
    if not keep.any():
        return EMPTY.copy()
    start, end = start[keep], end[keep]
    pitch = np.concatenate(pitches)[keep]
    velocity = np.concatenate(velocities)[keep]
    program = np.concatenate(programs)[keep]

    ts_changes = sorted(midi.time_signature_changes, key=lambda t: t.time)
    ts_events = [(int(_ticks_to_pos(np.asarray([t.time]), tpb)[0]), _ts_code(t.numerator, t.denominator, where)) for t in ts_changes]
    default_ts = V.TS_INDEX[(4, 4)]
    segments = bar_segments(ts_events, default_ts)
    seg = np.searchsorted(segments[:, 0], start, side="right") - 1
    offset = start - segments[seg, 0]
    length = segments[seg, 2]
    bar = segments[seg, 1] + offset // length
    pos_in_bar = offset % length
    ts = segments[seg, 3]

    tempo_changes = sorted(midi.tempo_changes, key=lambda t: t.time)
    if tempo_changes:
        tempo_pos = _ticks_to_pos(np.asarray([t.time for t in tempo_changes]), tpb)
        tempo_codes = np.asarray([V.tempo_to_code(t.tempo) for t in tempo_changes], dtype=np.int64)
        idx = np.searchsorted(tempo_pos, start, side="right") - 1
        tempo = np.where(idx >= 0, tempo_codes[np.maximum(idx, 0)], V.tempo_to_code(V.DEFAULT_TEMPO))
    else:
        tempo = np.full(len(start), V.tempo_to_code(V.DEFAULT_TEMPO), dtype=np.int64)

    encoding = np.stack(
        [bar, pos_in_bar, program, pitch, V.duration_to_code(end - start), V.velocity_to_code(velocity), ts, tempo],
        axis=1,
    ).astype(np.int64)
    order = np.lexsort(encoding.T[::-1])
    return encoding[order]


def validate_encoding(encoding: np.ndarray, where: str = "<encoding>", first_line: int = 1, bar_limit: int = V.TRUNC_POS) -> None:
    """Check every field value is in range and drum pitches match program 128.

    Bars may exceed the model's 256 (files hold absolute bars) but not ``bar_limit`` (2**16,
    the most bars a file can have once onsets are cut at 2**16 positions).

    Raises:
        UserError: naming the line (``first_line`` + row) of the first bad octuple.
    """
    encoding = np.asarray(encoding, dtype=np.int64).reshape(-1, 8)
    sizes = np.asarray(V.FIELD_SIZES, dtype=np.int64)
    sizes[V.BAR] = bar_limit
    bad = (encoding < 0) | (encoding >= sizes)
    drum = encoding[:, V.PROGRAM] == V.DRUM_PROGRAM
    bad[:, V.PITCH] |= drum != (encoding[:, V.PITCH] >= 128)
    rows = np.nonzero(bad.any(axis=1))[0]
    if len(rows):
        r = int(rows[0])
        field = int(np.nonzero(bad[r])[0][0])
        raise UserError(f"{V.FIELD_NAMES[field]} value {int(encoding[r, field])} out of range in octuple {encoding[r].tolist()}", where, first_line + r)


def _same_pitch_layers(pitch: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Greedy layer index per note so that no two notes of one pitch overlap inside a layer.

    A MIDI channel cannot represent overlapping notes of the same pitch (note-offs are paired
    first-in first-out on reading), so such notes are written to extra tracks of the same
    program; reading the file back then gives the same notes.
    """
    order = np.lexsort((start, pitch))
    layers = np.zeros(len(pitch), dtype=np.int64)
    ends: dict = {}
    for i in order:
        open_ends = ends.setdefault(int(pitch[i]), [])
        for layer, last_end in enumerate(open_ends):
            if start[i] >= last_end:
                open_ends[layer] = int(end[i])
                layers[i] = layer
                break
        else:
            layers[i] = len(open_ends)
            open_ends.append(int(end[i]))
    return layers


MAX_TICKS_PER_BEAT = 2**15 - 1  # the MIDI header's division is 15 bits (the top bit selects SMPTE time)


def check_ticks_per_beat(ticks_per_beat: int) -> int:
    """``ticks_per_beat`` if a MIDI file can store it (1..32767), else a :class:`UserError`."""
    if not 1 <= ticks_per_beat <= MAX_TICKS_PER_BEAT:
        raise UserError(f"ticks per beat must be 1..{MAX_TICKS_PER_BEAT} (the MIDI header's 15 bits), got {ticks_per_beat}")
    return ticks_per_beat


def decode(encoding: np.ndarray, ticks_per_beat: int = 480) -> miditoolkit.MidiFile:
    """OctupleMIDI → ``miditoolkit.MidiFile`` (``encoding_to_MIDI`` of MusicBERT's preprocess.py).

    Time signature per bar = most frequent among its notes (ties → smaller table index; an
    empty bar inherits the previous one, bar 0 defaults to 4/4); tempo per position = rounded
    mean of its notes' tempo codes, carried forward (starts at 120 BPM); one track per
    program (128 → drum track with program 0; same-pitch overlaps go to extra tracks of that
    program); ticks = (bar_start + pos) * tpb // 16;
    a zero duration is written as one tick so the note survives a MIDI file.

    Raises:
        UserError: ``ticks_per_beat`` outside 1..32767, or an out-of-range octuple.
    """
    encoding = np.asarray(encoding, dtype=np.int64).reshape(-1, 8)
    midi = miditoolkit.MidiFile(ticks_per_beat=check_ticks_per_beat(ticks_per_beat))
    if len(encoding) == 0:
        return midi
    validate_encoding(encoding)
    n_bars = int(encoding[:, V.BAR].max()) + 1
    pairs, counts = np.unique(encoding[:, V.BAR] * len(V.TS_LIST) + encoding[:, V.TIME_SIG], return_counts=True)
    bars, sigs = pairs // len(V.TS_LIST), pairs % len(V.TS_LIST)
    order = np.lexsort((sigs, -counts, bars))  # per bar: most notes first, ties -> smaller index
    first = order[np.concatenate([[True], bars[order][1:] != bars[order][:-1]])]
    bar_ts = np.full(n_bars, -1, dtype=np.int64)
    bar_ts[bars[first]] = sigs[first]
    if bar_ts[0] < 0:
        bar_ts[0] = V.TS_INDEX[(4, 4)]
    filled = np.where(bar_ts >= 0, np.arange(n_bars), 0)
    bar_ts = bar_ts[np.maximum.accumulate(filled)]
    bar_start = np.concatenate([[0], np.cumsum(V.MEASURE_LENGTHS[bar_ts])[:-1]])

    abs_pos = bar_start[encoding[:, V.BAR]] + encoding[:, V.POSITION]
    uniq, inverse = np.unique(abs_pos, return_inverse=True)
    tempo_sum = np.bincount(inverse, weights=encoding[:, V.TEMPO].astype(np.float64))
    tempo_cnt = np.bincount(inverse)
    tempo_at = np.rint(tempo_sum / tempo_cnt).astype(np.int64)
    default_tempo = V.tempo_to_code(V.DEFAULT_TEMPO)
    if uniq[0] != 0:
        uniq = np.concatenate([[0], uniq])
        tempo_at = np.concatenate([[default_tempo], tempo_at])
    change = np.concatenate([[True], tempo_at[1:] != tempo_at[:-1]])

    def ticks(pos: np.ndarray) -> np.ndarray:
        return np.asarray(pos, dtype=np.int64) * ticks_per_beat // V.POS_RESOLUTION

    start = ticks(abs_pos)
    duration = np.maximum(ticks(V.code_to_duration(encoding[:, V.DURATION])), 1)
    program = encoding[:, V.PROGRAM]
    pitch = np.where(program == V.DRUM_PROGRAM, encoding[:, V.PITCH] - 128, encoding[:, V.PITCH])
    velocity = V.code_to_velocity(encoding[:, V.VELOCITY])
    end = start + duration
    for prog in np.unique(program):
        rows = np.nonzero(program == prog)[0]
        layers = _same_pitch_layers(pitch[rows], start[rows], end[rows])
        for layer in range(int(layers.max()) + 1):
            chosen = rows[layers == layer]
            inst = miditoolkit.Instrument(program=0 if prog == V.DRUM_PROGRAM else int(prog), is_drum=bool(prog == V.DRUM_PROGRAM), name=str(int(prog)))
            inst.notes = [
                miditoolkit.Note(velocity=int(v), pitch=int(p), start=int(s), end=int(e))
                for v, p, s, e in zip(velocity[chosen], pitch[chosen], start[chosen], end[chosen])
            ]
            midi.instruments.append(inst)
    ts_change = np.concatenate([[True], bar_ts[1:] != bar_ts[:-1]])
    for b in np.nonzero(ts_change)[0]:
        numerator, denominator = V.TS_LIST[int(bar_ts[b])]
        midi.time_signature_changes.append(miditoolkit.TimeSignature(numerator=numerator, denominator=denominator, time=int(ticks(bar_start[b]))))
    for pos, code in zip(uniq[change], tempo_at[change]):
        midi.tempo_changes.append(miditoolkit.TempoChange(tempo=V.code_to_tempo(int(code)), time=int(ticks(pos))))
    return midi


def encoding_to_lines(encoding: np.ndarray) -> List[str]:
    """One octuple per line: ``<0-b> <1-p> <2-i> <3-p> <4-d> <5-v> <6-t> <7-t>``."""
    return [" ".join(f"<{j}-{int(k)}>" for j, k in enumerate(row)) for row in np.asarray(encoding)]


def lines_to_encoding(lines: List[Tuple[int, str]], where: str) -> np.ndarray:
    """Parse ``(line_number, text)`` pairs written by :func:`encoding_to_lines`.

    Empty lines are skipped. Raises :class:`UserError` naming the line of the first
    malformed token, wrong field order or out-of-range value.
    """
    rows: List[List[int]] = []
    numbers: List[int] = []
    for number, text in lines:
        tokens = text.split()
        if not tokens:
            continue
        if len(tokens) != 8:
            raise UserError(f"expected 8 tokens <0-k> ... <7-k>, got {len(tokens)}", where, number)
        row = []
        for j, token in enumerate(tokens):
            try:
                field, value = V.parse_token(token)
            except ValueError as exc:
                raise UserError(str(exc), where, number) from None
            if field != j:
                raise UserError(f"token {token!r} in column {j + 1} should be of field {j} ({V.FIELD_NAMES[j]})", where, number)
            row.append(value)
        rows.append(row)
        numbers.append(number)
    if not rows:
        return EMPTY.copy()
    encoding = np.asarray(rows, dtype=np.int64)
    try:
        validate_encoding(encoding, where)
    except UserError as exc:
        raise UserError(exc.message, where, numbers[exc.line - 1] if exc.line else None) from None
    return encoding


def write_midi(midi: miditoolkit.MidiFile, path: PathLike) -> None:
    """Write a MIDI file atomically (temporary file, then rename)."""
    from speechtools.fileio import atomic_path

    with atomic_path(path) as tmp:
        midi.dump(str(tmp))
