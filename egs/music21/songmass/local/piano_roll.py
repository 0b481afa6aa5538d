#!/usr/bin/env python3
"""Piano roll of a MIDI file with its lyric events, as a PNG: python local/piano_roll.py SONG.mid OUT.png [--title T]."""

from __future__ import annotations

import argparse
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import miditoolkit  # noqa: E402

from speechtools.fileio import atomic_path  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("midi")
    parser.add_argument("png")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    midi = miditoolkit.MidiFile(args.midi)
    tpb = midi.ticks_per_beat
    notes = [n for inst in midi.instruments for n in inst.notes]
    if not notes:
        print(f"error: {args.midi}: no notes", file=sys.stderr)
        return 1
    end = max(n.end for n in notes) / tpb
    fig, ax = plt.subplots(figsize=(max(6.0, end / 4), 3.5))
    for n in notes:
        ax.broken_barh([(n.start / tpb, (n.end - n.start) / tpb)], (n.pitch - 0.4, 0.8), color="tab:blue", edgecolor="white", linewidth=0.6)
    low = min(n.pitch for n in notes)
    for lyric in midi.lyrics:
        ax.text(lyric.time / tpb, low - 2, lyric.text, fontsize=7, rotation=60, ha="left", va="top")
    ax.set_xlabel("beats")
    ax.set_ylabel("MIDI pitch")
    ax.set_ylim(low - 8, max(n.pitch for n in notes) + 2)
    ax.set_xlim(0, end)
    ax.set_title(args.title)
    fig.tight_layout()
    with atomic_path(args.png) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
