#!/usr/bin/env bash
# PriorGrad on Kathleen (CC0, one US-English female speaker, CMU ARCTIC "a" prompts; 50 eval and
# 5 dev prompts held out as in ../fastspeech2): the PriorGrad vocoder and acoustic model, each with
# the data-dependent prior and the N(0, I) baseline, FastSpeech 2 beside them, all measured at 25, 50
# and 100 % of the training steps. Stages live in ../../TEMPLATE/priorgrad.sh; options there.
# Budget and results: README.md.
#
#   ./run.sh --corpus /path/to/kathleen --jobs 2          # e.g. ../shared/corpora/kathleen
#   ./run.sh --corpus /path/to/kathleen --stage 5 --stop-stage 5  # re-score the vocoders
cd "$(dirname "$0")"
exec ../../TEMPLATE/priorgrad.sh --data-prep kathleen --aligner-conf conf/aligner_small.yaml \
  --baseline-conf ../fastspeech2/conf/fastspeech2_small.yaml "$@"
