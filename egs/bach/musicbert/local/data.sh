#!/usr/bin/env bash
# Put the MIDI corpus into data/midi (with data/midi/labels.tsv).
#   --corpus bundled  (default) copy the public-domain MIDI files bundled in ./midi (offline, no extra)
#   --corpus music21  convert the public-domain scores inside the music21 package (recipe extra
#                     "music": pip install 'speechtools[music]'); see local/music21_to_midi.py
#                     for the collections used and the ones left out for licence reasons
#   --corpus DIR      any folder of .mid files (labels.tsv inside it is optional)
set -euo pipefail
corpus=bundled        # bundled | music21 | a folder of MIDI files
collections=""        # music21 only: space-separated collections (default: the PD allow-list)
max_per_collection=0  # music21 only: 0 = all
out=data/midi         # output folder
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"

rm -rf "$out.tmp"
mkdir -p "$(dirname "$out")"
case "$corpus" in
  bundled)
    cp -r midi "$out.tmp"
    ;;
  music21)
    extra=()
    [ -n "$collections" ] && extra+=(--collections $collections)
    python local/music21_to_midi.py "$out.tmp" --max-per-collection "$max_per_collection" "${extra[@]}"
    ;;
  *)
    if [ ! -d "$corpus" ]; then
      echo "error: $corpus: no such corpus folder (use bundled, music21 or a folder of .mid files)" >&2
      exit 1
    fi
    cp -r "$corpus" "$out.tmp"
    ;;
esac
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$(find "$out" -iname '*.mid' -o -iname '*.midi' | wc -l) MIDI files in $out" >&2
