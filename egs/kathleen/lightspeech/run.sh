#!/usr/bin/env bash
# LightSpeech on Kathleen (CC0, one US-English female speaker, CMU ARCTIC "a" prompts), with the
# same data, durations, training budget and scoring as ../fastspeech2 so the two compare side by
# side: data prep (fixed 50 eval + 5 dev prompts held out) -> features/stats -> aligner +
# durations -> LightSpeech (paper architecture) -> synthesis of the 50 eval prompts -> scoring
# (MCD, log-F0 RMSE, pocketsphinx WER of synthesised vs real). Stages live in
# ../../TEMPLATE/tts.sh; options there.
#
#   ./run.sh --corpus /path/to/kathleen                     # e.g. ../shared/corpora/kathleen
#   ./run.sh --stage 4 --reuse ../fastspeech2               # stages 1-3 are identical to FastSpeech 2's:
#                                                           # reuse its data/ and dump/ (durations included)
cd "$(dirname "$0")"
reuse=""
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = --reuse ]; then
    reuse=$2
    shift 2
  else
    args+=("$1")
    shift
  fi
done
if [ -n "$reuse" ]; then
  for d in data dump; do
    [ -d "$reuse/$d" ] || { echo "error: $reuse/$d: not found (run that recipe's stages 1-3 first)" >&2; exit 1; }
    rm -rf "$d"
    cp -r "$reuse/$d" "$d"
  done
fi
exec ../../TEMPLATE/tts.sh --data-prep kathleen --conf conf/lightspeech_small.yaml --aligner-conf conf/aligner_small.yaml "${args[@]}"
