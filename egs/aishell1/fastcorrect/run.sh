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
size=tiny                  # model size: tiny | small | paper (conf/correction/<model>_<size>.yaml)
models="fastcorrect transformer_corrector"  # which correctors to train
pretrain_steps=""          # override trainer.max_steps of pre-training
finetune_steps=""          # override trainer.max_steps of fine-tuning
batch_size=32              # decoding batch size
device=auto                # auto | cpu | cuda[:N]
ngpu=""                # GPUs for training: empty = use --device; 0 = CPU; N > 1 = DDP over N GPUs (torchrun)
help_message="Usage: ./run.sh [options]   (stages: 1 data, 2 noise, 3 vocab, 4 pretrain, 5 finetune, 6 decode, 7 score)"
cd "$(dirname "$0")"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
set -euo pipefail
logdir=exp/logs
root_conf="$SPEECHTOOLS_ROOT/conf/correction"

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

noise_stage() {
  if [ -n "$text_corpus" ]; then
    case "$text_corpus" in *.gz) gzip -dc "$text_corpus" ;; *) cat "$text_corpus" ;; esac
  else
    cut -d' ' -f2- data/train/text
  fi > data/pretrain_text.txt
  speechtools correct noise --lang zh --seed 1 --epochs "$noise_epochs" data/pretrain_text.txt data/pretrain.tsv
}

vocab_stage() {
  speechtools correct vocab --lang zh data/pretrain_text.txt data/train/pairs.tsv data/tokens.txt
}

train_stage() {  # $1 = pretrain | finetune
  local phase=$1 m steps out
  [ "$phase" = pretrain ] && steps=$pretrain_steps || steps=$finetune_steps
  for m in $models; do
    [ "$phase" = pretrain ] && out=exp/pretrain_$m || out=exp/$m
    local extra=()
    mapfile -t extra < <(python "$root_conf/size_overrides.py" "$root_conf/${m}_${size}.yaml")
    [ -n "$steps" ] && extra+=(--set "trainer.max_steps=$steps" --set "trainer.save_interval=$steps" --set "trainer.valid_interval=$steps")
    rm -rf "$out"
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} speechtools train --config "conf/${m}_${phase}.yaml" --out-dir "$out" \
      $(train_launch_args) --quiet "${extra[@]}"
  done
}

decode_stage() {
  local m s
  for m in $models; do
    for s in dev test; do
      mkdir -p "exp/$m/decode_$s"
      speechtools correct-asr --model-dir "exp/$m" --batch-size "$batch_size" --device "$device" --quiet \
        data/$s/hyp "exp/$m/decode_$s/text"
    done
  done
}

score_stage() {
  local m s
  python "$root_conf/results_table.py" --header > exp/results.md
  for m in $models; do
    for s in dev test; do
      speechtools score correction --cer --src data/$s/hyp --hyp "exp/$m/decode_$s/text" --ref data/$s/text \
        --json "exp/$m/decode_$s/metrics.json" > "exp/$m/decode_$s/score.txt"
      python "$root_conf/results_table.py" "$m" "$s" "exp/$m/decode_$s/metrics.json" >> exp/results.md
    done
  done
  cat exp/results.md
}

run_stage 1 "data: (ASR output, reference) pairs" data_stage
run_stage 2 "noised pre-training text ($noise_epochs epochs)" noise_stage
run_stage 3 "token list" vocab_stage
run_stage 4 "pre-training ($models, size $size)" train_stage pretrain
run_stage 5 "fine-tuning on (ASR output, reference) pairs" train_stage finetune
run_stage 6 "correct-asr on dev and test" decode_stage
run_stage 7 "scoring" score_stage
for m in $models; do log "model directory: $(pwd)/exp/$m"; done
