#!/usr/bin/env bash
# Shared stages 2-7 of the ASR error-correction recipes (FastCorrect and its AR baseline). A
# corpus's run.sh declares its options, defines its own data stage (stage 1: data/{train,dev,test}
# with `hyp` (ASR output, Kaldi text), the reference file named by $ref_name and pairs.tsv), then
# sources this file after local/stage.sh and calls run_correction_stages. Run from the recipe folder.
#
#   2 noise      pre-training pairs: $text_corpus (English: files or folders of .txt/.txt.gz through
#                `speechtools text prepare-corpus`, dev/test prompts removed; empty = the training references)
#                noised $noise_epochs times (seeds 1..N) -> data/pretrain.tsv; with $noise_channel
#                (pairs of the target recogniser), like that recogniser errs (correct noise --channel)
#   3 vocab      data/tokens.txt                              (speechtools correct vocab $vocab_args)
#   4 pretrain   each of $models on the noised pairs           -> exp/pretrain_<model>/
#   5 finetune   each of $models on data/train/pairs.tsv       -> exp/<model>/
#   6 decode     correct-asr on dev and test; a corrector with an edit gate (FastCorrect) decodes with
#                --edit-threshold, or the value of --gate-grid with the lowest dev WER (speechtools
#                correct choose-gate -> exp/<model>/gate.json; empty grid: no gate, the paper's decoding)
#   7 score      speechtools score correction $score_args      -> exp/results.md
#
# Variables it reads: lang (en | zh), text_corpus, noise_epochs, noise_channel, vocab_args, models, size,
# pretrain_steps, finetune_steps, edit_threshold, gate_grid, batch_size, device, ngpu, overwrite,
# ref_name (reference file in data/<set>/), score_args (e.g. --cer).
# Training configs: conf/<model>_{pretrain,finetune}.yaml with the sizes of
# $SPEECHTOOLS_ROOT/conf/correction/<model>_<size>.yaml.

root_conf="$SPEECHTOOLS_ROOT/conf/correction"

noise_stage() {
  if [ -n "$text_corpus" ] && [ "$lang" = en ]; then
    # Sentence-split and normalised as the references; any sentence sharing 6 words with a dev or test
    # prompt removed (counts: data/pretrain_text.json).
    local exclude=() s
    for s in dev test; do [ -f "data/$s/$ref_name" ] && exclude+=(--exclude "data/$s/$ref_name"); done
    speechtools text prepare-corpus $text_corpus "${exclude[@]}" --out data/pretrain_text.txt --report data/pretrain_text.json
  elif [ -n "$text_corpus" ]; then
    case "$text_corpus" in *.gz) gzip -dc "$text_corpus" ;; *) cat "$text_corpus" ;; esac > data/pretrain_text.txt
  else
    cut -d' ' -f2- "data/train/$ref_name" > data/pretrain_text.txt
  fi
  local channel=()
  [ -n "$noise_channel" ] && channel=(--channel "$noise_channel")
  speechtools correct noise --lang "$lang" --seed 1 --epochs "$noise_epochs" "${channel[@]}" data/pretrain_text.txt data/pretrain.tsv
}

vocab_stage() {
  # shellcheck disable=SC2086  # vocab_args holds several options
  speechtools correct vocab --lang "$lang" $vocab_args data/pretrain_text.txt data/train/pairs.tsv data/tokens.txt
}

train_stage() {  # $1 = pretrain | finetune
  local phase=$1 m steps out
  [ "$phase" = pretrain ] && steps=$pretrain_steps || steps=$finetune_steps
  for m in $models; do
    [ "$phase" = pretrain ] && out=exp/pretrain_$m || out=exp/$m
    local extra=()
    mapfile -t extra < <(python "$root_conf/size_overrides.py" "$root_conf/${m}_${size}.yaml")
    [ -n "$steps" ] && extra+=(--set "trainer.max_steps=$steps" --set "trainer.save_interval=$steps" --set "trainer.valid_interval=$steps")
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} speechtools train --config "conf/${m}_${phase}.yaml" --out-dir "$out" \
      $(train_launch_args) $(train_resume_args) --quiet "${extra[@]}"
  done
}

decode_stage() {
  local m s t gate=()
  for m in $models; do
    gate=()
    # The edit-gate threshold of this model: --edit-threshold, else the best of --gate-grid on dev;
    # nothing for a corrector without an edit gate (the AR baseline).
    # shellcheck disable=SC2086
    t=$(speechtools correct choose-gate --model-dir "exp/$m" ${edit_threshold:+--threshold "$edit_threshold"} \
      --grid "$gate_grid" --src data/dev/hyp --ref "data/dev/$ref_name" $score_args --batch-size "$batch_size" \
      --device "$device" --quiet --json "exp/$m/gate.json")
    if [ -n "$t" ]; then
      gate=(--edit-threshold "$t")
      echo "$t" > "exp/$m/edit_threshold"
      log "$m edit threshold: $t"
    fi
    for s in dev test; do
      mkdir -p "exp/$m/decode_$s"
      speechtools correct-asr --model-dir "exp/$m" --batch-size "$batch_size" --device "$device" --quiet "${gate[@]}" \
        "data/$s/hyp" "exp/$m/decode_$s/text"
    done
  done
}

score_stage() {
  local m s
  python "$root_conf/results_table.py" --header > exp/results.md
  for m in $models; do
    for s in dev test; do
      # shellcheck disable=SC2086
      speechtools score correction $score_args --src "data/$s/hyp" --hyp "exp/$m/decode_$s/text" --ref "data/$s/$ref_name" \
        --json "exp/$m/decode_$s/metrics.json" > "exp/$m/decode_$s/score.txt"
      python "$root_conf/results_table.py" "$m" "$s" "exp/$m/decode_$s/metrics.json" >> exp/results.md
    done
  done
  cat exp/results.md
}

run_correction_stages() {  # stages 2-7, then the model directories
  local m
  run_stage 2 "noised pre-training text ($noise_epochs epochs)" noise_stage
  run_stage 3 "token list" vocab_stage
  run_stage 4 "pre-training ($models, size $size)" train_stage pretrain
  run_stage 5 "fine-tuning on (ASR output, reference) pairs" train_stage finetune
  run_stage 6 "correct-asr on dev and test" decode_stage
  run_stage 7 "scoring" score_stage
  for m in $models; do log "model directory: $(pwd)/exp/$m"; done
}
