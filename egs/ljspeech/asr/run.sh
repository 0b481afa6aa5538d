#!/usr/bin/env bash
# Mini path of the ASR recipe (CI, tests/integration/test_asr_recipes.py): tiny recogniser and LM on the
# bundled LJSpeech mini corpus, two augmentation rows, joint CTC/attention search with shallow fusion.
# Checks the plumbing, not the quality. Stages: ../../TEMPLATE/asr.sh (./run.sh --help).
cd "$(dirname "$0")"
exec ../../TEMPLATE/asr.sh --conf ../../../conf/asr/ctc_attention_tiny.yaml --lm-conf ../../../conf/lm/lstm_lm_tiny.yaml \
  --use-lm true --augment "none mixspeech+specaug" --test-sets eval --beam-size 2 --ctc-weight 0.3 --pocketsphinx false "$@"
