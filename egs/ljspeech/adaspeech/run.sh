#!/usr/bin/env bash
# The CI mini path of the AdaSpeech recipe (../../kathleen_philipp/adaspeech is the measured one):
# every stage of ../../TEMPLATE/adaspeech.sh with the tiny AdaSpeech 2 config and a few steps. It
# checks the plumbing, not the quality. The source is the bundled 26-clip LJSpeech mini corpus; the
# "new speaker" is a STAND-IN for Philipp's corpus, made here from the same mini corpus
# (data/mini_philipp: LJSpeech layout, mini clips 1-20 under Philipp's 20 adaptation ids and the 3
# mini eval clips, LJ001-0030..0032, under his first 3 eval ids, each with its own text), so it is
# LJ's voice, read by `data prepare philipp` like the real corpus. Its adaptation clips overlap the
# source training audio; its eval clips do not.
#
#   ./run.sh                        # about 2.5 minutes on one core (2-core AMD EPYC, 2026-12-07)
cd "$(dirname "$0")"
root=../../..
mini=$root/egs/ljspeech/mini_corpus
stand_in=data/mini_philipp
if [ ! -s "$stand_in/metadata.csv" ]; then
  mkdir -p "$stand_in/wavs"
  adapt_ids="0001 0009 0010 0012 0035 0045 0049 0054 0058 0064 0066 0073 0074 0085 0092 0093 0107 0123 0125 0136"
  eval_ids="0138 0142 0143"
  mini_ids=$(printf '%04d ' $(seq 1 20) 30 31 32)
  paste -d' ' <(printf '%s\n' $adapt_ids $eval_ids) <(printf '%s\n' $mini_ids) | while read -r to from; do
    ln -sf "$(cd "$mini/wavs" && pwd)/LJ001-$from.flac" "$stand_in/wavs/LJ001-$to.flac"
    grep "^LJ001-$from|" "$mini/metadata.csv" | sed "s/^LJ001-$from|/LJ001-$to|/"
  done > "$stand_in/metadata.csv.tmp"
  mv "$stand_in/metadata.csv.tmp" "$stand_in/metadata.csv"
fi
exec ../../TEMPLATE/adaspeech.sh --source-corpora ljspeech --target-corpus philipp --corpus-philipp "$stand_in" \
  --conf $root/conf/tts/adaspeech2_tiny.yaml --aligner-conf ../fastspeech2/conf/aligner_tiny.yaml \
  --duration-conf-plain $root/conf/tts/adaspeech_tiny.yaml --duration-conf-moe $root/conf/tts/adaspeech3_tiny.yaml \
  --aligner-steps 20 --source-steps 8 --adapt-steps 4 --num-utts 5 --gl-iters 8 "$@"
