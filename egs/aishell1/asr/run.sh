#!/usr/bin/env bash
# AISHELL-1 (178 h Mandarin, 400 speakers; Apache-2.0, openslr.org/33): the paper-size Conformer
# CTC/attention recogniser on characters, 16 kHz filterbanks, CER. Not run here (the corpus cannot be
# downloaded offline); its data and feature stages are tested on a fixture with the release's layout
# (tests/integration/test_asr_recipes.py). On a GPU:
#   ./run.sh --corpus-args "--corpus /data/aishell/data_aishell" --device cuda --nj 16
#   ./run.sh ... --stage 5 --beam-size 10 --ctc-weight 0.3       # ESPnet's AISHELL decoding: beam 10, ctc 0.3
cd "$(dirname "$0")"
exec ../../TEMPLATE/asr.sh --conf ../../../conf/asr/ctc_attention.yaml --units zh_char \
  --feats-conf ../../../conf/feats/fbank16k.yaml --test-sets "dev test" --score-args "--cer" \
  --augment specaug --also-cer false --pocketsphinx false "$@"
