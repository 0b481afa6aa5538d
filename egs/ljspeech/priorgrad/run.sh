#!/usr/bin/env bash
# PriorGrad on LJSpeech: the vocoder and the acoustic model, each with the data-dependent prior and the
# N(0, I) baseline, FastSpeech 2 beside them, measured at 25, 50 and 100 % of the training steps.
# Stages live in ../../TEMPLATE/priorgrad.sh; options there. The defaults are the bundled 32-clip mini
# corpus with tiny configurations and a few steps (the CI smoke test: it checks the plumbing, not
# the quality); the Kathleen recipe (../../kathleen/priorgrad) is the measured one.
#
#   ./run.sh                                              # mini corpus, tiny configs
#   ./run.sh --corpus /data/LJSpeech-1.1 --aligner-conf ../fastspeech2/conf/aligner.yaml \
#       --vocoder-conf ../../../conf/vocoder/priorgrad_paper.yaml --vocoder-steps 1000000 \
#       --acoustic-conf ../../../conf/tts/priorgrad_acoustic.yaml --acoustic-steps 300000 \
#       --baseline-conf ../fastspeech2/conf/fastspeech2.yaml --ngpu 1 --num-eval ""
cd "$(dirname "$0")"
root=../../..
exec ../../TEMPLATE/priorgrad.sh --data-prep ljspeech --aligner-conf conf/aligner_tiny.yaml \
  --vocoder-conf $root/conf/vocoder/priorgrad_tiny.yaml --acoustic-conf $root/conf/tts/priorgrad_acoustic_tiny.yaml \
  --baseline-conf ../fastspeech2/conf/fastspeech2_tiny.yaml --vocoder-steps 8 --acoustic-steps 8 --aligner-steps 20 \
  --num-eval 2 "$@"
