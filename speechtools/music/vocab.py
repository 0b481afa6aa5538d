"""OctupleMIDI field definitions, quantisation tables and the token dictionary.

Follows MusicBERT (Zeng et al., 2021, arXiv 2106.05630, Sec. 3.1 and Table 2) as released
in microsoft/muzic ``musicbert/preprocess.py``. An octuple is stored in the *code* order of
the reference implementation (which is also the order of the token dictionary):

====  ============  =====  =====================================================
 j    field         size   value
====  ============  =====  =====================================================
 0    bar           256    bar index (0..255 inside a model window)
 1    position      128    onset inside the bar in 1/16 beat (a bar is <= 8 beats)
 2    program       129    General MIDI program 0..127; 128 = any drum track
 3    pitch         256    MIDI pitch 0..127; drums use pitch + 128
 4    duration      128    8 groups x 16 bins, group i has width 2**i positions
 5    velocity      32     velocity // 4 (decoded as 4 v + 2)
 6    time sig.     254    (numerator, denominator), denominator 1..64, numerator 1..2 d
 7    tempo         49     round(12 log2(clamp(bpm, 16, 256) / 16))
====  ============  =====  =====================================================

The paper lists the same fields in the order (time signature, tempo, bar, position,
instrument, pitch, duration, velocity); only the storage order differs.
Token strings are ``<j-k>`` (field j, value k). The dictionary puts ``<s>`` ``<pad>``
``</s>`` ``<unk>`` first (ids 0-3, as fairseq does), then every field's tokens in field
order, then ``<mask>`` last.
"""

from __future__ import annotations

import math
import re
from typing import Dict, List, Sequence, Tuple

import numpy as np

POS_RESOLUTION = 16
"""Positions per beat (quarter note)."""
BAR_MAX = 256
VELOCITY_QUANT = 4
TEMPO_QUANT = 12
MIN_TEMPO = 16.0
MAX_TEMPO = 256.0
DURATION_GROUPS = 8
MAX_TS_DENOMINATOR_EXP = 6
MAX_NOTES_PER_BAR = 2
BEAT_NOTE_FACTOR = 4
TRUNC_POS = 2**16
"""Onsets at or beyond this many positions (~30 min at 120 BPM) are dropped, as the reference."""
DEFAULT_TEMPO = 120.0

FIELD_NAMES: Tuple[str, ...] = ("bar", "position", "program", "pitch", "duration", "velocity", "time_signature", "tempo")
BAR, POSITION, PROGRAM, PITCH, DURATION, VELOCITY, TIME_SIG, TEMPO = range(8)
DRUM_PROGRAM = 128


def _time_signature_table() -> List[Tuple[int, int]]:
    table: List[Tuple[int, int]] = []
    for i in range(MAX_TS_DENOMINATOR_EXP + 1):
        for numerator in range(1, (2**i) * MAX_NOTES_PER_BAR + 1):
            table.append((numerator, 2**i))
    return table


TS_LIST: Tuple[Tuple[int, int], ...] = tuple(_time_signature_table())
TS_INDEX: Dict[Tuple[int, int], int] = {ts: i for i, ts in enumerate(TS_LIST)}


def _duration_tables() -> Tuple[np.ndarray, np.ndarray]:
    encode: List[int] = []
    decode: List[int] = []
    for group in range(DURATION_GROUPS):
        for _ in range(POS_RESOLUTION):
            decode.append(len(encode))
            encode.extend([len(decode) - 1] * (2**group))
    return np.asarray(encode, dtype=np.int64), np.asarray(decode, dtype=np.int64)


DURATION_ENCODE, DURATION_DECODE = _duration_tables()


def tempo_to_code(bpm: float) -> int:
    """Log-tempo bin: round(12 log2(clamp(bpm, 16, 256) / 16)) (MusicBERT Table 2)."""
    x = min(max(float(bpm), MIN_TEMPO), MAX_TEMPO) / MIN_TEMPO
    return int(round(math.log2(x) * TEMPO_QUANT))


def code_to_tempo(code: int) -> float:
    """Inverse of :func:`tempo_to_code`: 16 * 2**(code / 12) BPM."""
    return float(2 ** (code / TEMPO_QUANT) * MIN_TEMPO)


FIELD_SIZES: Tuple[int, ...] = (
    BAR_MAX,
    BEAT_NOTE_FACTOR * MAX_NOTES_PER_BAR * POS_RESOLUTION,
    129,
    256,
    DURATION_GROUPS * POS_RESOLUTION,
    127 // VELOCITY_QUANT + 1,
    len(TS_LIST),
    tempo_to_code(MAX_TEMPO) + 1,
)
"""(256, 128, 129, 256, 128, 32, 254, 49): 1,232 field tokens in all."""


def duration_to_code(positions: np.ndarray) -> np.ndarray:
    """Grouped duration bins: group i covers 16 bins of width 2**i positions; longer → last bin."""
    positions = np.clip(np.asarray(positions, dtype=np.int64), 0, None)
    return DURATION_ENCODE[np.minimum(positions, len(DURATION_ENCODE) - 1)]


def code_to_duration(codes: np.ndarray) -> np.ndarray:
    """Lower edge of each duration bin, in positions (1/16 beat)."""
    return DURATION_DECODE[np.asarray(codes, dtype=np.int64)]


def velocity_to_code(velocity: np.ndarray) -> np.ndarray:
    """velocity // 4."""
    return np.asarray(velocity, dtype=np.int64) // VELOCITY_QUANT


def code_to_velocity(codes: np.ndarray) -> np.ndarray:
    """4 v + 2, the centre of the velocity bin."""
    return np.asarray(codes, dtype=np.int64) * VELOCITY_QUANT + VELOCITY_QUANT // 2


def reduce_time_signature(numerator: int, denominator: int) -> Tuple[int, int]:
    """The reference reduction: halve both while d > 64 and both even; while n > 2 d divide n
    by its smallest factor. The result may still be outside the table (then unsupported)."""
    while denominator > 2**MAX_TS_DENOMINATOR_EXP and denominator % 2 == 0 and numerator % 2 == 0:
        denominator //= 2
        numerator //= 2
    while numerator > MAX_NOTES_PER_BAR * denominator:
        for factor in range(2, numerator + 1):
            if numerator % factor == 0:
                numerator //= factor
                break
    return numerator, denominator


def measure_length(ts_code: int) -> int:
    """Positions in one bar of the time signature with table index ``ts_code``."""
    numerator, denominator = TS_LIST[ts_code]
    return numerator * BEAT_NOTE_FACTOR * POS_RESOLUTION // denominator


MEASURE_LENGTHS = np.asarray([measure_length(i) for i in range(len(TS_LIST))], dtype=np.int64)

SPECIALS: Tuple[str, ...] = ("<s>", "<pad>", "</s>", "<unk>")
BOS_ID, PAD_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
FIELD_OFFSETS: Tuple[int, ...] = tuple(int(x) for x in len(SPECIALS) + np.concatenate([[0], np.cumsum(FIELD_SIZES)[:-1]]))
MASK_ID = len(SPECIALS) + sum(FIELD_SIZES)
VOCAB_SIZE = MASK_ID + 1
"""4 specials + 1,232 field tokens + ``<mask>`` = 1,237."""

_TOKEN_RE = re.compile(r"^<([0-7])-(\d+)>$")


def token_string(field: int, value: int) -> str:
    """``<j-k>``."""
    return f"<{field}-{value}>"


def parse_token(token: str) -> Tuple[int, int]:
    """``<j-k>`` → (j, k); raises ValueError for anything else."""
    match = _TOKEN_RE.match(token)
    if match is None:
        raise ValueError(f"not an OctupleMIDI token: {token!r}")
    return int(match.group(1)), int(match.group(2))


def dictionary() -> List[str]:
    """All token strings in id order (the reference ``gen_dictionary`` order plus ``<mask>``)."""
    tokens = list(SPECIALS)
    for field, size in enumerate(FIELD_SIZES):
        tokens.extend(token_string(field, k) for k in range(size))
    tokens.append("<mask>")
    return tokens


def octuples_to_ids(octuples: np.ndarray) -> np.ndarray:
    """Field values (N, 8) → dictionary ids (N, 8); values must lie inside each field's range."""
    octuples = np.asarray(octuples, dtype=np.int64)
    return octuples + np.asarray(FIELD_OFFSETS, dtype=np.int64)


def ids_to_octuples(ids: np.ndarray) -> np.ndarray:
    """Dictionary ids (N, 8) → field values (N, 8)."""
    return np.asarray(ids, dtype=np.int64) - np.asarray(FIELD_OFFSETS, dtype=np.int64)


def check_field_ranges(octuples: np.ndarray, fields: Sequence[int] = tuple(range(8))) -> List[Tuple[int, int]]:
    """(row, field) of every value outside its field's vocabulary."""
    octuples = np.asarray(octuples, dtype=np.int64).reshape(-1, 8)
    sizes = np.asarray(FIELD_SIZES, dtype=np.int64)
    bad = (octuples < 0) | (octuples >= sizes)
    rows, cols = np.nonzero(bad[:, list(fields)])
    return [(int(r), int(list(fields)[c])) for r, c in zip(rows, cols)]
