#!/usr/bin/env bash
# MusicBERT on public-domain chorales: data -> OctupleMIDI encoding -> pre-training with
# bar-level masking -> fine-tuning (melody completion, accompaniment suggestion, song
# classification; pre-trained and from scratch) -> evaluation (MAP/HITS@k, F1).
#
#   ./run.sh                                    # mini path on the bundled MIDI files (CPU, minutes)
#   ./run.sh --corpus music21 --tag small --pretrain-config conf/pretrain_small.yaml \
#            --finetune-config conf/finetune_small.yaml --device cuda
#   ./run.sh --stage 4 --stop-stage 5           # re-run fine-tuning and evaluation only
stage=1                   # first stage: 1 data, 2 encode, 3 pre-train, 4 fine-tune, 5 evaluate
stop_stage=5              # last stage
corpus=bundled            # bundled | music21 | a folder of .mid files
collections=""            # --corpus music21 only: collections to convert (default: the PD allow-list)
label_column=""           # labels.tsv column to classify (default: mode for bundled, composer otherwise)
pretrain_config=conf/pretrain_tiny.yaml
finetune_config=conf/finetune_tiny.yaml
tag=tiny                  # experiment names: exp/pretrain_<tag>, exp/<task>_<init>_<tag>
pretrain_steps=""         # override trainer.max_steps of pre-training
finetune_steps=""         # override trainer.max_steps of each fine-tuning
pretrain_args=""          # extra options for pre-training, e.g. "--set trainer.batch_bins=4096"
finetune_args=""          # extra options for each fine-tuning
tasks="melody_completion accompaniment classification"
inits="pretrained scratch"
device=auto               # auto | cpu | cuda[:N]
ngpu=""                # GPUs for training: empty = use --device; 0 = CPU; N > 1 = DDP over N GPUs (torchrun)
seed=1
overwrite=false           # training stages: false = continue a killed run from its checkpoint (refuse a changed config); true = start afresh
help_message="Usage: ./run.sh [options]   (MusicBERT recipe; see README.md)"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
set -euo pipefail
logdir=exp/logs

if [ -z "$label_column" ]; then
  if [ "$corpus" = bundled ]; then label_column=mode; else label_column=composer; fi
fi
pretrain_dir=exp/pretrain_$tag

data() {
  local/data.sh --corpus "$corpus" --collections "$collections"
}

encode() {
  speechtools midi stats data/midi --skip-errors --json exp/midi_stats.json
  local labels=()
  [ -f data/midi/labels.tsv ] && labels=(--labels data/midi/labels.tsv --label-column "$label_column")
  speechtools midi prepare --midi-dir data/midi --out-dir data/prepared --seed "$seed" "${labels[@]}"
}

pretrain() {
  local extra=()
  [ -n "$pretrain_steps" ] && extra+=(--set "trainer.max_steps=$pretrain_steps")
  speechtools train --config "$pretrain_config" --out-dir "$pretrain_dir" $(train_launch_args) $(train_resume_args) --seed "$seed" \
    --quiet "${extra[@]}" $pretrain_args
}

finetune() {
  local task init classes out extra
  for task in $tasks; do
    [ "$task" = classification ] && [ ! -f data/prepared/classification/train.npz ] && { log "no labels: skipping classification"; continue; }
    if [ "$task" = classification ]; then classes=$(wc -l < data/prepared/classification/classes.txt); else classes=2; fi
    for init in $inits; do
      out=exp/${task}_${init}_$tag
      extra=(--set "task_conf.train=data/prepared/$task/train.npz" --set "task_conf.valid=data/prepared/$task/valid.npz" --set "model_conf.num_classes=$classes")
      [ "$init" = pretrained ] && extra+=(--set "trainer.init_from.path=$pretrain_dir")
      [ -n "$finetune_steps" ] && extra+=(--set "trainer.max_steps=$finetune_steps")
      log "fine-tune $task ($init) -> $out"
      speechtools train --config "$finetune_config" --out-dir "$out" $(train_launch_args) $(train_resume_args) --seed "$seed" \
        --quiet "${extra[@]}" $finetune_args
    done
  done
}

evaluate() {
  local task init out
  for task in $tasks; do
    for init in $inits; do
      out=exp/${task}_${init}_$tag
      [ -f "$out/model.pt" ] || continue
      if [ "$task" = classification ]; then
        speechtools midi predict --model-dir "$out" --data data/prepared/$task/test.npz --device "$device" \
          --hyp-out "$out/test_hyp.txt" --ref-out "$out/test_ref.txt"
        speechtools score classification "$out/test_ref.txt" "$out/test_hyp.txt" --json "$out/test_metrics.json"
      else
        speechtools midi predict --model-dir "$out" --data data/prepared/$task/test.npz --device "$device" \
          --ranking-out "$out/test_scores.txt"
        speechtools score ranking "$out/test_scores.txt" --json "$out/test_metrics.json"
      fi
    done
  done
  python local/collect_results.py exp "$tag" > exp/results_$tag.md
  cat exp/results_$tag.md
}

mkdir -p exp
run_stage 1 "data: MIDI corpus into data/midi ($corpus)" data
run_stage 2 "encode: OctupleMIDI token statistics and task sets" encode
run_stage 3 "pre-train MusicBERT ($pretrain_config)" pretrain
run_stage 4 "fine-tune ($tasks; $inits)" finetune
run_stage 5 "evaluate on the test sets" evaluate
log "pre-trained model directory: $(pwd)/$pretrain_dir"
for task in $tasks; do
  for init in $inits; do
    [ -d "exp/${task}_${init}_$tag" ] && log "fine-tuned model directory: $(pwd)/exp/${task}_${init}_$tag"
  done
done
exit 0
