#!/usr/bin/env bash
# Shared stages 2-7 of the ASR error-correction recipes (FastCorrect, FastCorrect 2 and the AR baseline).
# A corpus's run.sh declares its options, defines its own data stage (stage 1: data/{train,dev,test}
# with `hyp` (ASR 1-best, Kaldi text), the reference file named by $ref_name, pairs.tsv, and for the
# n-best correctors nbest.tsv (the n-best lists, `id<TAB>1-best<TAB>cand1 ||| cand2 ...`) and
# nbest_pairs.tsv (`cand1 ||| cand2 ...<TAB>reference`)), then sources this file after local/stage.sh
# and calls run_correction_stages. Run from the recipe folder.
#
# A corrector "reads n-best" when its model class declares reads_n_best (FastCorrect 2); the stages
# ask conf/correction/reads_n_best.py once ($nbest_models) and never branch on a model's name.
#
#   2 noise      pre-training pairs: $text_corpus (English: files or folders of .txt/.txt.gz through
#                `speechtools text prepare-corpus`, dev/test prompts removed; empty = the training references)
#                noised $noise_epochs times (seeds 1..N) -> data/pretrain.tsv; with $noise_channel
#                (pairs of the target recogniser), like that recogniser errs (correct noise --channel);
#                for n-best correctors the same text with $nbest noised candidates per sentence
#                (correct noise --n-best $nbest --n-best-noise $nbest_noise $nbest_noise_args) -> data/pretrain_nbest.tsv
#   3 vocab      data/tokens.txt                              (speechtools correct vocab $vocab_args)
#   4 pretrain   each of $models on the noised pairs           -> exp/pretrain_<model>/
#   5 finetune   each of $models on data/train/pairs.tsv (n-best correctors: nbest_pairs.tsv) -> exp/<model>/
#   6 decode     correct-asr on dev and test (n-best correctors: --n-best data/<set>/nbest.tsv); a
#                corrector with an edit gate (FastCorrect, FastCorrect 2) decodes with --edit-threshold,
#                or the value of --gate-grid with the lowest dev WER (speechtools correct choose-gate ->
#                exp/<model>/gate.json; empty grid: no gate, the paper's decoding)
#   7 score      speechtools score correction $score_args      -> exp/results.md; with n-best correctors
#                also the row `oracle`: per utterance the best of the first $nbest candidates
#                (speechtools score wer --n-best -> exp/oracle/decode_<set>/), the ceiling of choosing
#
# Variables it reads: lang (en | zh), text_corpus, noise_epochs, noise_channel, nbest (candidates per
# list, default 4), nbest_noise (independent | correlated candidates, default independent),
# nbest_noise_args (extra `correct noise` options of the n-best pre-training noise),
# vocab_args, models, size, pretrain_steps, finetune_steps, edit_threshold, gate_grid, batch_size,
# device, ngpu, overwrite, ref_name (reference file in data/<set>/), score_args (e.g. --cer).
# Training configs: conf/<model>_{pretrain,finetune}.yaml with the sizes of
# $SPEECHTOOLS_ROOT/conf/correction/<model>_<size>.yaml (n-best correctors: model_conf.n_candidates=$nbest).

root_conf="$SPEECHTOOLS_ROOT/conf/correction"
nbest_models=""  # the correctors of $models that read n-best lists (set by run_correction_stages)

find_nbest_models() {  # prints the models of $models whose class reads n-best lists
  local m args=()
  for m in $models; do args+=("$m=conf/${m}_finetune.yaml"); done
  [ ${#args[@]} -eq 0 ] || python "$root_conf/reads_n_best.py" "${args[@]}"
}

reads_n_best() {  # $1 = model: true when it is in $nbest_models
  [[ " $(echo $nbest_models) " == *" $1 "* ]]
}

needs_file() {  # $1 = file a stage reads, $2 = what writes it
  [ -f "$1" ] || { echo "error: $1: no such file ($2)" >&2; exit 1; }
}

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
  local channel=() m single=false
  [ -n "$noise_channel" ] && channel=(--channel "$noise_channel")
  for m in $models; do reads_n_best "$m" || single=true; done
  if [ "$single" = true ]; then
    speechtools correct noise --lang "$lang" --seed 1 --epochs "$noise_epochs" "${channel[@]}" data/pretrain_text.txt data/pretrain.tsv
  fi
  if [ -n "$nbest_models" ]; then
    # shellcheck disable=SC2086  # nbest_noise_args holds several options
    speechtools correct noise --lang "$lang" --seed 1 --epochs "$noise_epochs" --n-best "$nbest" --n-best-noise "${nbest_noise:-independent}" \
      $nbest_noise_args "${channel[@]}" \
      data/pretrain_text.txt data/pretrain_nbest.tsv
  fi
}

vocab_stage() {
  # shellcheck disable=SC2086  # vocab_args holds several options
  speechtools correct vocab --lang "$lang" $vocab_args data/pretrain_text.txt data/train/pairs.tsv data/tokens.txt
}

train_stage() {  # $1 = pretrain | finetune
  local phase=$1 m steps out size_conf
  [ "$phase" = pretrain ] && steps=$pretrain_steps || steps=$finetune_steps
  for m in $models; do
    [ "$phase" = pretrain ] && out=exp/pretrain_$m || out=exp/$m
    size_conf="$root_conf/${m}_${size}.yaml"
    needs_file "$size_conf" "--size $size is not available for $m"
    local extra=()
    mapfile -t extra < <(python "$root_conf/size_overrides.py" "$size_conf")
    [ -n "$steps" ] && extra+=(--set "trainer.max_steps=$steps" --set "trainer.save_interval=$steps" --set "trainer.valid_interval=$steps")
    if reads_n_best "$m"; then
      needs_file data/train/nbest_pairs.tsv "stage 1 writes the n-best pairs"
      extra+=(--set "model_conf.n_candidates=$nbest")
    fi
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} speechtools train --config "conf/${m}_${phase}.yaml" --out-dir "$out" \
      $(train_launch_args) $(train_resume_args) --quiet "${extra[@]}"
  done
}

decode_stage() {
  local m s t gate=() input nbest_opt=()
  for m in $models; do
    gate=()
    input=hyp
    nbest_opt=()
    if reads_n_best "$m"; then
      input=nbest.tsv  # the n-best lists; the corrector chooses among the aligned candidates
      nbest_opt=(--n-best)
      for s in dev test; do needs_file "data/$s/nbest.tsv" "stage 1 writes the n-best lists"; done
    fi
    # The edit-gate threshold of this model: --edit-threshold, else the best of --gate-grid on dev;
    # nothing for a corrector without an edit gate (the AR baseline).
    # shellcheck disable=SC2086
    t=$(speechtools correct choose-gate --model-dir "exp/$m" ${edit_threshold:+--threshold "$edit_threshold"} \
      --grid "$gate_grid" "${nbest_opt[@]}" --src "data/dev/$input" --ref "data/dev/$ref_name" $score_args --batch-size "$batch_size" \
      --device "$device" --quiet --json "exp/$m/gate.json")
    if [ -n "$t" ]; then
      gate=(--edit-threshold "$t")
      echo "$t" > "exp/$m/edit_threshold"
      log "$m edit threshold: $t"
    fi
    for s in dev test; do
      mkdir -p "exp/$m/decode_$s"
      speechtools correct-asr --model-dir "exp/$m" --batch-size "$batch_size" --device "$device" --quiet "${gate[@]}" \
        "${nbest_opt[@]}" "data/$s/$input" "exp/$m/decode_$s/text"
    done
  done
}

score_row() {  # $1 = system, $2 = set, $3 = its decoding folder (holding `text`): score it, add its row
  local name=$1 s=$2 dir=$3
  # shellcheck disable=SC2086
  speechtools score correction $score_args --src "data/$s/hyp" --hyp "$dir/text" --ref "data/$s/$ref_name" \
    --json "$dir/metrics.json" > "$dir/score.txt"
  python "$root_conf/results_table.py" "$name" "$s" "$dir/metrics.json" >> exp/results.md
}

score_stage() {
  local m s
  python "$root_conf/results_table.py" --header > exp/results.md
  for m in $models; do
    for s in dev test; do score_row "$m" "$s" "exp/$m/decode_$s"; done
  done
  if [ -n "$nbest_models" ]; then
    # The n-best oracle: per utterance the candidate (of the first $nbest) with the fewest errors,
    # scored like a corrector's output: the ceiling of a corrector that only chooses a candidate.
    for s in dev test; do
      needs_file "data/$s/nbest.tsv" "stage 1 writes the n-best lists"
      mkdir -p "exp/oracle/decode_$s"
      # shellcheck disable=SC2086
      speechtools score wer $score_args "data/$s/$ref_name" "data/$s/nbest.tsv" --n-best --max-candidates "$nbest" \
        --oracle-text "exp/oracle/decode_$s/text" > "exp/oracle/decode_$s/oracle_wer.txt"
      score_row oracle "$s" "exp/oracle/decode_$s"
    done
  fi
  cat exp/results.md
}

run_correction_stages() {  # stages 2-7, then the model directories
  local m
  nbest=${nbest:-4}
  [[ "$nbest" =~ ^[1-9][0-9]*$ ]] || { echo "error: --nbest must be a positive integer, got '$nbest'" >&2; exit 1; }
  if [ "${stop_stage:-10000}" -ge 2 ]; then
    nbest_models=$(find_nbest_models)
    [ -z "$nbest_models" ] || log "n-best correctors: $(echo $nbest_models) ($nbest candidates)"
  fi
  run_stage 2 "noised pre-training text ($noise_epochs epochs)" noise_stage
  run_stage 3 "token list" vocab_stage
  run_stage 4 "pre-training ($models, size $size)" train_stage pretrain
  run_stage 5 "fine-tuning on (ASR output, reference) pairs" train_stage finetune
  run_stage 6 "correct-asr on dev and test" decode_stage
  run_stage 7 "scoring" score_stage
  for m in $models; do log "model directory: $(pwd)/exp/$m"; done
}
