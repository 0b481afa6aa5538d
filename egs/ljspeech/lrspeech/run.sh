#!/usr/bin/env bash
# The CI mini path of the LRSpeech recipe (../../kathleen/lrspeech is the real one): every stage of
# ../../TEMPLATE/lrspeech.sh on stand-in data from the bundled LJSpeech mini corpus (local/data.sh),
# tiny configs and a few steps each. It checks the plumbing (data conditions, pseudo-pairs, feature
# combination, init_from chains, evaluation, the results table), not the method: an untrained teacher's
# attention would fail any real filter, so the distillation filter keeps everything here; its
# recogniser hears nothing yet, so its pseudo-pairs are all dropped (each with its reason).
#
#   ./run.sh                        # ~1-2 minutes on two cores
cd "$(dirname "$0")"
root=../../..
exec ../../TEMPLATE/lrspeech.sh --tts-conf $root/conf/tts/transformer_tts_tiny.yaml \
  --student-conf $root/conf/tts/fastspeech_tiny.yaml --asr-conf $root/conf/asr/ctc_attention_tiny.yaml \
  --steps-pretrain 4 --steps-finetune 3 --steps-dt 2 --steps-kd 3 --dt-iterations 1 --min-wcr 0 --min-adr 0 \
  --gl-iters 4 --nj 1 --jobs 2 "$@"
