#!/usr/bin/env bash
# SongMASS on the music21 corpus: lyric-melody data -> training of four systems (SongMASS, every kind
# together; without pre-training; without the alignment constraints; MASS pre-training then supervised
# fine-tuning) -> lyric-to-melody generation for the test songs ->
# PD/DD/MD, perplexity, DP vs argmax alignment accuracy, syllable-count agreement of generated lyrics.
#
#   ./run.sh                                        # mini path (CPU, about a minute): 40 chorales, a few steps
#   ./run.sh --max-files 0 --config conf/songmass_small.yaml --tag small   # all chorales, CPU-size model
#   ./run.sh --max-files 0 --config conf/songmass.yaml --tag paper --device cuda
#   ./run.sh --stage 3                              # generation and scoring only
stage=1                   # first stage: 1 data, 2 train, 3 generate, 4 score
stop_stage=4              # last stage
scores="music21:bach"     # score sources (space-separated): music21:COLLECTION or folders of scores
lmd_dir=""                # optional folder of Lakh-derived lyric/melody .npy files (the paper's data)
max_files=40              # at most this many files per source (0 = all)
config=conf/songmass_tiny.yaml
tag=tiny                  # experiment names: exp/<system>_<tag>
systems="songmass no_pretrain no_align songmass_ft"
steps=""                  # override trainer.max_steps (the same for every system; for songmass_ft its supervised phase)
pretrain_steps=""         # updates of the MASS pre-training phase (exp/pretrain_<tag>) of songmass_ft; empty = as --steps
train_args=""             # extra options for every training, e.g. "--set trainer.batch_bins=2048"
beam=5
baseline=no_pretrain      # stage 4: paired bootstrap over test songs (score paired) of every other system against it (empty = none)
device=auto               # auto | cpu | cuda[:N]
ngpu=""                   # GPUs for training: empty = use --device; 0 = CPU; N > 1 = DDP over N GPUs
seed=1
overwrite=false           # training stages: false = continue a killed run (refuse a changed config); true = start afresh
help_message="Usage: ./run.sh [options]   (SongMASS recipe; see README.md)"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
set -euo pipefail
logdir=exp/logs
data=data/songs

system_args() {  # the --set options that make a system out of the config
  case "$1" in
    songmass) ;;
    no_pretrain) echo "--set task_conf.kinds=[lyric_to_melody,melody_to_lyric]" ;;
    no_align) echo "--set model_conf.align_weight=0 --set model_conf.sentence_constraint=false" ;;
    songmass_ft) echo "--set task_conf.kinds=[lyric_to_melody,melody_to_lyric] --set trainer.init_from.path=exp/pretrain_$tag" ;;
    *) echo "unknown system $1 (songmass, no_pretrain, no_align, songmass_ft)" >&2; return 1 ;;
  esac
}

pretrain_args() {  # the --set options of a system's pre-training phase (exp/pretrain_<tag>); nothing = none
  case "$1" in
    songmass_ft) echo "--set task_conf.kinds=[lyric_mass,melody_mass]" ;;
  esac
}

prepare() {
  local inputs=()
  for s in $scores; do inputs+=(--scores "$s"); done
  [ -n "$lmd_dir" ] && inputs+=(--lmd-dir "$lmd_dir")
  speechtools music lyrics-melody "${inputs[@]}" --max-files "$max_files" --out-dir "$data"
}

train_one() {  # train_one OUT_DIR STEPS [--set ...]: one `speechtools train` of the config
  local out=$1 n=$2
  shift 2
  local extra=(--set "task_conf.data_dir=$data")
  [ -n "$n" ] && extra+=(--set "trainer.max_steps=$n")
  speechtools train --config "$config" --out-dir "$out" $(train_launch_args) $(train_resume_args) --seed "$seed" \
    --quiet "${extra[@]}" "$@" $train_args
}

train() {
  local system pre args
  for system in $systems; do
    args=$(system_args "$system")  # stops the stage on an unknown system
    pre=$(pretrain_args "$system")
    if [ -n "$pre" ]; then
      log "pre-train $system -> exp/pretrain_$tag"
      train_one "exp/pretrain_$tag" "${pretrain_steps:-$steps}" $pre
    fi
    log "train $system -> exp/${system}_$tag"
    train_one "exp/${system}_$tag" "$steps" $args
  done
}

generate() {
  local system
  for system in $systems; do
    speechtools music generate-melody --model-dir "exp/${system}_$tag" --songs "$data/songs.jsonl" --split test --beam "$beam" \
      --device "$device" --out-dir "exp/${system}_$tag/test_melody"
  done
}

score() {
  local system out
  for system in $systems; do
    out=exp/${system}_$tag
    speechtools score melody "$data/para/test.melody" "$out/test_melody/hyp.melody" --json "$out/test_melody.json"
    speechtools music evaluate --model-dir "$out" --songs "$data/songs.jsonl" --split test --beam "$beam" --device "$device" \
      --json "$out/test_eval.json"
  done
  python local/collect_results.py exp "$tag" $systems > "exp/results_$tag.md"
  cat "exp/results_$tag.md"
  if [ -n "$baseline" ] && [[ " $systems " == *" $baseline "* ]]; then
    local args=()
    for system in $systems; do
      args+=(--system "$system=exp/${system}_$tag/test_melody.json")
      [ "$system" = "$baseline" ] || args+=(--versus "$system,$baseline")
    done
    speechtools score paired "${args[@]}" --metric melody_pd --metric melody_dd --metric melody_md \
      --out "exp/bootstrap_$tag.md" --json "exp/bootstrap_$tag.json"
  fi
}

mkdir -p exp
run_stage 1 "data: paired songs and unpaired melodies ($scores${lmd_dir:+ $lmd_dir}) -> $data" prepare
run_stage 2 "train $systems ($config)" train
run_stage 3 "generate melodies for the test lyrics" generate
run_stage 4 "score: PD, DD, MD, perplexity, alignment accuracy, syllable agreement" score
for system in $systems; do
  [ -d "exp/${system}_$tag" ] && log "model directory: $(pwd)/exp/${system}_$tag"
done
exit 0
