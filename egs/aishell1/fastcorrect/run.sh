#!/usr/bin/env bash
# FastCorrect (Leng et al., NeurIPS 2021) in the paper's Mandarin setting (AISHELL-1, characters).
#
#   1 data       --corpus: AISHELL-1 (speechtools data prepare aishell1) + --hyp-dir from any ASR
#                default: 600 shipped Tang-poem lines with synthetic homophone errors (local/make_mini.py)
#   2 noise      pre-training pairs: --text-corpus (default: the training references) noised N times
#   3 vocab      tokens.txt (characters)
#   4 pretrain   FastCorrect and the AR baseline on noised text       -> exp/pretrain_<model>/
#   5 finetune   both on (ASR output, reference) training pairs       -> exp/<model>/
#   6 decode     correct-asr on dev and test
#   7 score      speechtools score correction --cer -> exp/results.md
#   (stages 2-7 live in ../../TEMPLATE/correction.sh)
#
#   ./run.sh                                                  # mini path, offline, minutes on CPU
#   ./run.sh --corpus /data/data_aishell --hyp-dir /exp/asr/decode --text-corpus zhwiki.txt --size paper
#     (--hyp-dir holds train/text, dev/text, test/text: Kaldi texts of your recogniser's output)
stage=1                    # first stage to run
stop_stage=7               # last stage to run
corpus=""                  # AISHELL-1 data_aishell folder; empty = the shipped mini data
hyp_dir=""                 # with --corpus: folder with {train,dev,test}/text hypotheses
text_corpus=""             # pre-training text (one sentence per line); empty = training references
noise_epochs=10            # noised copies of the pre-training text (seeds 1..N)
noise_channel=""           # pairs of the target recogniser (e.g. data/train/pairs.tsv): noise like it errs
size=tiny                  # model size: tiny | small | paper (conf/correction/<model>_<size>.yaml)
models="fastcorrect transformer_corrector"  # which correctors to train
pretrain_steps=""          # override trainer.max_steps of pre-training
finetune_steps=""          # override trainer.max_steps of fine-tuning
edit_threshold=""          # FastCorrect edit gate for decoding (empty = from --gate-grid on dev; 0 = off)
gate_grid=""               # edit-gate thresholds tried on dev, e.g. "0 0.5 0.7 0.9" (empty: no gate, the paper's decoding)
batch_size=32              # decoding batch size
device=auto                # auto | cpu | cuda[:N]
ngpu=""                # GPUs for training: empty = use --device; 0 = CPU; N > 1 = DDP over N GPUs (torchrun)
overwrite=false            # training stages: false = continue a killed run from its checkpoint (refuse a changed config); true = start afresh
help_message="Usage: ./run.sh [options]   (stages: 1 data, 2 noise, 3 vocab, 4 pretrain, 5 finetune, 6 decode, 7 score)"
cd "$(dirname "$0")"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
set -euo pipefail
logdir=exp/logs
lang=zh
vocab_args=""
ref_name=text
score_args=--cer

data_stage() {
  local s
  if [ -z "$corpus" ]; then
    python local/make_mini.py --text corpus/tang300_lines.txt --out data
  else
    [ -n "$hyp_dir" ] || { echo "error: --corpus needs --hyp-dir with {train,dev,test}/text ASR hypotheses" >&2; exit 1; }
    speechtools data prepare aishell1 --corpus "$corpus" --out data
    for s in train dev test; do cp "$hyp_dir/$s/text" "data/$s/hyp"; done
  fi
  for s in train dev test; do
    speechtools correct pairs --lang zh data/$s/text data/$s/hyp data/$s/pairs.tsv
  done
}

. ../../TEMPLATE/correction.sh

run_stage 1 "data: (ASR output, reference) pairs" data_stage
run_correction_stages
