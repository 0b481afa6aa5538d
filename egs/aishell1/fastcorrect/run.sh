#!/usr/bin/env bash
# FastCorrect (Leng et al., NeurIPS 2021) and FastCorrect 2 (Leng et al., Findings of EMNLP 2021) in the
# papers' Mandarin setting (AISHELL-1, characters; FastCorrect 2: 4 candidates aligned by toneless pinyin).
#
#   1 data       --corpus: AISHELL-1 (speechtools data prepare aishell1) + --hyp-dir from any ASR
#                default: 600 shipped Tang-poem lines with synthetic homophone errors and 4-best lists
#                (local/make_mini.py); each set also gets nbest.tsv and nbest_pairs.tsv (FastCorrect 2)
#   2 noise      pre-training pairs: --text-corpus (default: the training references) noised N times;
#                for FastCorrect 2 --nbest candidates per sentence (the reference add_noise.py rates)
#   3 vocab      tokens.txt (characters)
#   4 pretrain   each of --models on noised text                      -> exp/pretrain_<model>/
#   5 finetune   on (ASR output, reference) training pairs (FastCorrect 2: n-best pairs) -> exp/<model>/
#   6 decode     correct-asr on dev and test (FastCorrect 2: --n-best)
#   7 score      speechtools score correction --cer -> exp/results.md (+ the n-best oracle row with FastCorrect 2)
#   (stages 2-7 live in ../../TEMPLATE/correction.sh)
#
#   ./run.sh                                                  # mini path, offline, minutes on CPU
#   ./run.sh --models "fastcorrect fastcorrect2"              # mini path with FastCorrect 2 on the 4-best lists
#   ./run.sh --corpus /data/data_aishell --hyp-dir /exp/asr/decode --text-corpus zhwiki.txt --size paper \
#            --models "fastcorrect fastcorrect2 transformer_corrector"
#     (--hyp-dir holds train/text, dev/text, test/text: Kaldi texts of your recogniser's 1-best output, and
#      for FastCorrect 2 {train,dev,test}/nbest.tsv: its n-best lists, `id<TAB>1-best<TAB>cand1 ||| cand2 ...`
#      or Kaldi `<uttid>-<rank> words`; without them each list is the 1-best alone)
stage=1                    # first stage to run
stop_stage=7               # last stage to run
corpus=""                  # AISHELL-1 data_aishell folder; empty = the shipped mini data
hyp_dir=""                 # with --corpus: folder with {train,dev,test}/text hypotheses
text_corpus=""             # pre-training text (one sentence per line); empty = training references
noise_epochs=10            # noised copies of the pre-training text (seeds 1..N)
noise_channel=""           # pairs of the target recogniser (e.g. data/train/pairs.tsv): noise like it errs
size=tiny                  # model size: tiny | small | paper (conf/correction/<model>_<size>.yaml)
models="fastcorrect transformer_corrector"  # which correctors to train: fastcorrect, transformer_corrector, fastcorrect2
nbest=4                    # FastCorrect 2: candidates per n-best list (pre-training noise, model_conf.n_candidates, oracle row)
nbest_noise=correlated     # FastCorrect 2 pre-training candidates: correlated beams (the reference's pseudo n-best) or independent draws
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
# FastCorrect 2 pre-training noise: the reference FastCorrect2/add_noise.py rates (ratio 0.2; substitute 4/7,
# insert left 1/14, insert right 1/14, delete 2/7: the four shares are normalised), one draw per candidate
nbest_noise_args="--ratio 0.2 --p-sub 0.8 --p-ins-left 0.1 --p-ins-right 0.1 --p-del 0.4"

data_stage() {
  local s
  if [ -z "$corpus" ]; then
    python local/make_mini.py --text corpus/tang300_lines.txt --out data
  else
    [ -n "$hyp_dir" ] || { echo "error: --corpus needs --hyp-dir with {train,dev,test}/text ASR hypotheses" >&2; exit 1; }
    speechtools data prepare aishell1 --corpus "$corpus" --out data
    for s in train dev test; do
      cp "$hyp_dir/$s/text" "data/$s/hyp"
      if [ -f "$hyp_dir/$s/nbest.tsv" ]; then
        cp "$hyp_dir/$s/nbest.tsv" "data/$s/nbest.tsv"
      else  # no n-best lists: each list is the 1-best alone (`id<TAB>1-best`)
        awk '{k = $1; $1 = ""; sub(/^ +/, ""); print k "\t" $0}' "data/$s/hyp" > "data/$s/nbest.tsv"
      fi
    done
  fi
  for s in train dev test; do
    speechtools correct pairs --lang zh data/$s/text data/$s/hyp data/$s/pairs.tsv
    speechtools correct pairs --lang zh --n-best data/$s/text data/$s/nbest.tsv data/$s/nbest_pairs.tsv
  done
}

. ../../TEMPLATE/correction.sh

run_stage 1 "data: (ASR output, reference) pairs" data_stage
run_correction_stages
