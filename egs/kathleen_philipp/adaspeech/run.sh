#!/usr/bin/env bash
# AdaSpeech / AdaSpeech 2 custom voice (issue 18 items 5-6): one source model (the small AdaSpeech 2
# config: AdaSpeech with the mel encoder) trained on Kathleen + LJSpeech (default: the bundled 26-clip
# mini corpus), adapted to Philipp on his 20 fixed adaptation clips with equal steps four ways
# (embedding only, whole decoder, AdaSpeech, AdaSpeech 2 on the same clips untranscribed), then
# Philipp's 121 held-out sentences synthesised by those rows and the unadapted source model and
# scored (speaker similarity, MCD, DNSMOS, pocketsphinx WER) beside the real recordings.
# Stages live in ../../TEMPLATE/adaspeech.sh; options there. Budget and table layout: README.md.
#
#   ./run.sh --corpus-kathleen ../../../../shared/corpora/kathleen --corpus-philipp ../../../../shared/corpora/philipp
#   ./run.sh ... --stage 6          # re-synthesise, re-score and rebuild the tables
#   # full data (not run): LibriTTS source, a VCTK target speaker
#   ./run.sh --source-corpora libritts --corpus-libritts /data/LibriTTS --target-corpus vctk \
#       --corpus-vctk /data/VCTK-Corpus-0.92 --vctk-args "--speakers p226 --adapt-size 20" \
#       --conf ../../../conf/tts/adaspeech2.yaml --aligner-conf ../../ljspeech/fastspeech2/conf/aligner.yaml \
#       --adapt-steps 2000 --device cuda
cd "$(dirname "$0")"
exec ../../TEMPLATE/adaspeech.sh --aligner-conf ../../kathleen/fastspeech2/conf/aligner_small.yaml \
  --source-steps 2000 --adapt-steps 500 --jobs 2 "$@"
