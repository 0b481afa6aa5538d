"""OctupleMIDI encoding speed and tokens per song (MusicBERT Table 1) on a MIDI folder.

Side by side in one process, fastest of ``--repeats`` interleaved runs over the same files,
already parsed by miditoolkit (parsing is timed separately):

* ``speechtools`` — :func:`speechtools.music.octuple.encode` (vectorised over notes);
* ``per-position loop`` — a plain-Python port of the reference algorithm (MusicBERT
  ``preprocess.py``: one Python list entry per 1/16-beat position up to the last onset, bars
  found by walking every position), written here from the algorithm's description; the script
  checks that it produces exactly the same octuples on every file (it cannot handle a
  time-signature change inside a bar, where the reference asserts; such files are skipped
  for it);
* ``miditoolkit parse`` — reading the file, for scale.

Then tokens per song for OctupleMIDI (notes), the CP-like and the REMI-like encodings of the
reference's ablation adaptor, with their ratios to OctupleMIDI (paper: 3,607 / 6,906 / 15,679
on LMD, i.e. 1.91x and 4.35x).

    OMP_NUM_THREADS=1 python bench/octuple_speed.py [--quick] [--midi-dir DIR] [--json OUT]
"""

from __future__ import annotations

import io
import json
import math
import time
from pathlib import Path
from typing import Callable, List, Optional

import click
import miditoolkit
import numpy as np

from speechtools.fileio import atomic_write
from speechtools.music import octuple as O
from speechtools.music import vocab as V
from speechtools.music.token_stats import find_midi_files, song_lengths

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "egs" / "bach" / "musicbert" / "midi"


DURATION_TABLE = V.DURATION_ENCODE.tolist()


def per_position_encode(midi: miditoolkit.MidiFile) -> np.ndarray:
    """Plain-Python per-position walk (the reference algorithm), for speed comparison."""
    tpb = midi.ticks_per_beat

    def pos(t: int) -> int:
        return round(t * V.POS_RESOLUTION / tpb)

    onsets = [pos(n.start) for inst in midi.instruments for n in inst.notes]
    if not onsets:
        return O.EMPTY.copy()
    length = min(max(onsets) + 1, V.TRUNC_POS)
    ts_at: List[Optional[int]] = [None] * length
    tempo_at: List[Optional[int]] = [None] * length
    changes = midi.time_signature_changes
    for i, change in enumerate(changes):
        end = pos(changes[i + 1].time) if i + 1 < len(changes) else length
        code = V.TS_INDEX[V.reduce_time_signature(change.numerator, change.denominator)]
        for p in range(pos(change.time), min(end, length)):
            ts_at[p] = code
    tempos = midi.tempo_changes
    for i, change in enumerate(tempos):
        end = pos(tempos[i + 1].time) if i + 1 < len(tempos) else length
        code = V.tempo_to_code(change.tempo)
        for p in range(pos(change.time), min(end, length)):
            tempo_at[p] = code
    bar_at = [0] * length
    in_bar_at = [0] * length
    bar_ts_at = [0] * length
    bar, count, measure, bar_ts = 0, 0, 0, 0
    for p in range(length):
        if ts_at[p] is None:
            ts_at[p] = V.TS_INDEX[(4, 4)]
        if tempo_at[p] is None:
            tempo_at[p] = V.tempo_to_code(V.DEFAULT_TEMPO)
        if count == 0:
            bar_ts = ts_at[p]
            measure = int(V.MEASURE_LENGTHS[bar_ts])
        bar_at[p], in_bar_at[p], bar_ts_at[p] = bar, count, bar_ts
        count += 1
        if count == measure:
            count, bar = 0, bar + 1
    rows = []
    for inst in midi.instruments:
        for n in inst.notes:
            p = pos(n.start)
            if p >= V.TRUNC_POS:
                continue
            d = max(pos(n.end) - p, 0)
            duration = DURATION_TABLE[min(d, len(DURATION_TABLE) - 1)]
            rows.append((bar_at[p], in_bar_at[p], 128 if inst.is_drum else int(inst.program), n.pitch + (128 if inst.is_drum else 0), duration, n.velocity // 4, bar_ts_at[p], tempo_at[p]))
    rows.sort()
    return np.asarray(rows, dtype=np.int64)


def best_time(fn: Callable[[], None], repeats: int) -> float:
    """Fastest wall time of ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@click.command()
@click.option("--midi-dir", type=click.Path(file_okay=False), default=str(DEFAULT_DIR), show_default=True)
@click.option("--quick", is_flag=True, help="One repeat instead of three.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=str(ROOT / "bench" / "results" / "octuple_speed.json"), show_default=True)
def main(midi_dir: str, quick: bool, json_out: str) -> None:
    """Print the speed and tokens-per-song tables and write them as JSON."""
    repeats = 1 if quick else 3
    files = find_midi_files(midi_dir)
    blobs = [p.read_bytes() for p in files]
    midis = [miditoolkit.MidiFile(file=io.BytesIO(b)) for b in blobs]
    for m in midis:
        if not np.array_equal(O.encode(m), per_position_encode(m)):
            raise SystemExit("per-position loop and speechtools disagree: benchmark invalid")
    timings = {"miditoolkit parse": 0.0, "speechtools encode": 0.0, "per-position loop": 0.0}
    for name, fn in [("miditoolkit parse", lambda: [miditoolkit.MidiFile(file=io.BytesIO(b)) for b in blobs]),
                     ("speechtools encode", lambda: [O.encode(m) for m in midis]),
                     ("per-position loop", lambda: [per_position_encode(m) for m in midis])]:
        timings[name] = best_time(fn, repeats)
    encodings = [O.encode(m) for m in midis]
    lengths = [song_lengths(e) for e in encodings if len(e)]
    notes = sum(len(e) for e in encodings)

    print(f"{len(files)} MIDI files ({notes} notes) from {midi_dir}; best of {repeats}; encoders agree on every file\n")
    print("| step | seconds | files/s | time vs speechtools encode |")
    print("|---|---:|---:|---:|")
    base = timings["speechtools encode"]
    table = []
    for name, seconds in timings.items():
        rate = len(files) / seconds if seconds > 0 else math.inf
        print(f"| {name} | {seconds:.4f} | {rate:,.0f} | {seconds / base:.2f}x |")
        table.append({"step": name, "seconds": seconds, "files_per_second": rate, "ratio": seconds / base})
    mean = {k: float(np.mean([x[k] for x in lengths])) for k in ("octuple", "cp", "remi")}
    print("\n| encoding | tokens/song | ratio | paper (LMD) |")
    print("|---|---:|---:|---:|")
    print(f"| OctupleMIDI | {mean['octuple']:.1f} | 1.00 | 3,607 (1.00) |")
    print(f"| CP-like | {mean['cp']:.1f} | {mean['cp'] / mean['octuple']:.2f} | 6,906 (1.91) |")
    print(f"| REMI-like | {mean['remi']:.1f} | {mean['remi'] / mean['octuple']:.2f} | 15,679 (4.35) |")
    with atomic_write(json_out) as handle:
        json.dump({"midi_dir": midi_dir, "files": len(files), "notes": notes, "repeats": repeats, "speed": table,
                   "tokens_per_song": mean, "cp_ratio": mean["cp"] / mean["octuple"], "remi_ratio": mean["remi"] / mean["octuple"]}, handle, indent=1)


if __name__ == "__main__":
    main()
