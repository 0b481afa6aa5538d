#!/usr/bin/env bash
# LRSpeech on Kathleen (issue 21): TTS and ASR for a voice with 50 paired sentences, pre-training on
# other speakers (Philipp, LJSpeech), dual transformation on Kathleen's untranscribed clips and
# unpaired english_text sentences, knowledge distillation filtered by the teacher's attention (WCR,
# ADR), against the ceiling of all 443 Kathleen pairs; each row's TTS scored by pocketsphinx's
# intelligibility rate and MCD, each recogniser by WER, on the FastCorrect recipe's 100 held-out
# prompts. Stages and options: ../../TEMPLATE/lrspeech.sh (./run.sh --help). Data: local/data.sh.
# Budget and results: README.md.
#
#   ./run.sh --corpus-args "--corpus ../../../../shared/corpora/kathleen --corpus-philipp ../../../../shared/corpora/philipp \
#       --text-corpus ../../../../shared/corpora/english_text"
#   ./run.sh ... --stage 8          # re-evaluate and rebuild the table
cd "$(dirname "$0")"
exec ../../TEMPLATE/lrspeech.sh --steps-pretrain 2000 --steps-finetune 1000 --steps-dt 500 --steps-kd 2000 \
  --dt-iterations 2 --min-wcr 0.7 --min-adr 0.7 --transcribe-args "--beam-size 4 --ctc-weight 0.5" --jobs 2 "$@"
