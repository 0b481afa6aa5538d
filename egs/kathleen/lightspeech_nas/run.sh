#!/usr/bin/env bash
# LightSpeech's architecture search on Kathleen (CC0, one US-English female speaker, CMU ARCTIC "a"
# prompts) and this CPU: data prep (fixed 50 eval + 5 dev prompts held out) -> features/stats ->
# aligner + durations (all as ../lightspeech) -> one-shot supernet -> GBDT-predictor search on the dev
# prompts (each candidate fine-tuned 60 updates from the supernet's weights, ranked by its mel loss)
# under a CPU-latency limit measured here (default: no slower than the authors' architecture)
# -> the found architecture trained from scratch with ../lightspeech's budget -> synthesis of the 50
# eval prompts -> scoring. Stages live in ../../TEMPLATE/lightspeech_nas.sh; options there.
#
#   ./run.sh --corpus /path/to/kathleen                   # e.g. ../shared/corpora/kathleen
#   ./run.sh --stage 5 --max-latency-ms 6 --budget 60     # search again under another limit
cd "$(dirname "$0")"
exec ../../TEMPLATE/lightspeech_nas.sh --data-prep kathleen --aligner-conf conf/aligner_small.yaml \
  --supernet-conf conf/supernet_small.yaml --conf conf/lightspeech_compare.yaml \
  --budget 120 --finetune-steps 60 --objective mel_loss "$@"
