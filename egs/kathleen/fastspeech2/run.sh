#!/usr/bin/env bash
# FastSpeech 2 on Kathleen (CC0, one US-English female speaker, CMU ARCTIC "a" prompts):
# data prep (fixed 50 eval + 5 dev prompts held out) -> features/stats -> aligner + durations ->
# FastSpeech 2 -> synthesis of the 50 eval prompts -> scoring (MCD, log-F0 RMSE, pocketsphinx WER
# of synthesised vs real). Stages live in ../../TEMPLATE/tts.sh; options there.
#
#   ./run.sh --corpus /path/to/kathleen                     # e.g. ../shared/corpora/kathleen
#   ./run.sh --corpus /path/to/kathleen --stage 5           # re-synthesise and re-score
cd "$(dirname "$0")"
exec ../../TEMPLATE/tts.sh --data-prep kathleen --conf conf/fastspeech2_small.yaml --aligner-conf conf/aligner_small.yaml "$@"
