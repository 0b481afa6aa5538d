#!/usr/bin/env bash
# Shared stage script of the speech-recognition recipes, after ESPnet2's asr1 (../shared/reference/asr.md
# §1): a recipe's run.sh sets its defaults and forwards "$@" here; its local/data.sh writes the data.
# Run from the recipe folder.
#
#   1 data        local/data.sh --out data [--corpus ...]  -> data/<train sets>, data/<dev_set>, data/<test sets>
#   2 features    (--speed-perturb-factors) each training set at those speeds, data/<set>_sp (speechtools data
#                 speed-perturb: ESPnet's stage 2); log-mel of every set into dump/<set> (the TTS feature store: --feats-conf), stats.npz of
#                 --stats-set (default: the last of --train-sets: list the full set last), tokens.txt
#                 (make-tokens --units) from its text; with --units en_bpe first a SentencePiece model
#                 (--bpe-size, --bpe-type) trained on that text. Piece runs sit beside the character runs:
#                 data/bpe_<type><size>.model, data/tokens_<type><size>.txt, exp/<row>_<type><size>,
#                 exp/results_<type><size>.md (e.g. _unigram100)
#   3 lm          (--use-lm true) an LSTM LM over the same units on --lm-text (default: the training transcripts)
#   4 training    one recogniser per (training set, augmentation) pair: exp/<train_set>_<augment>, the same
#                 steps, batch, learning rate and seed for every one (--train-sets, --augment); with
#                 --speed-perturb-factors on data/<set>_sp: exp/<train_set>_sp_<augment>
#   5 decoding    every model on every test set (greedy CTC, or --beam-size/--ctc-weight joint search,
#                 with the LM when --use-lm true) -> exp/<model>/decode_<test>_<search>/text
#   6 scoring     speechtools score wer of each decode against the reference (--score-args); pocketsphinx
#                 on the same clips as the reference line (--pocketsphinx auto|true|false)
#   7 results     exp/results.md: a row per model (and pocketsphinx), a WER column per test set
stage=1                  # first stage to run
stop_stage=7             # last stage to run
corpus_args=""           # arguments of local/data.sh (e.g. "--corpus /data/kathleen")
train_sets=train         # training sets compared (each with every --augment row), e.g. "train_100 train"
stats_set=""             # set whose stats.npz and tokens.txt every row uses (default: the last of --train-sets)
dev_set=dev              # validation set
test_sets=test           # sets decoded and scored
augment="none"           # rows: none | specaug | mixspeech | mixspeech+specaug (space separated)
speed_perturb_factors="" # stage 2: every row trains on its set at these speeds (ESPnet's "0.9 1.0 1.1"); empty: off
conf=""                  # recogniser config (default: $SPEECHTOOLS_ROOT/conf/asr/ctc_attention_small.yaml)
max_steps=""             # override trainer.max_steps of every recogniser
mix_alpha=0.5            # MixSpeech: λ ~ Beta(α, α)
mix_proportion=1.0       # MixSpeech: share of each batch's utterances mixed
units=en_char            # output units (en_char, zh_char, en_bpe: SentencePiece pieces of English, docs/asr.md)
bpe_size=100             # en_bpe: vocabulary size of the SentencePiece model (a soft limit: a small text gives fewer pieces)
bpe_type=unigram         # en_bpe: unigram (unigram language model, ESPnet's default bpemode) or bpe
feats_conf=""            # feature YAML (default: $SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml)
use_lm=false             # stage 3 and shallow fusion in stage 5
lm_conf=""               # LM config (default: $SPEECHTOOLS_ROOT/conf/lm/lstm_lm_small.yaml)
lm_text=""               # LM training text: a plain .txt/.txt.gz file or folder (default: the training transcripts)
lm_steps=""              # override trainer.max_steps of the LM
lm_weight=0.3            # shallow-fusion weight
beam_size=1              # 1 (with ctc_weight 1): greedy CTC; otherwise joint CTC/attention beam search
ctc_weight=1.0           # CTC weight of the search (1.0 = CTC only)
score_args="--ignore-case --remove-punct"  # speechtools score wer options (--cer for Mandarin)
also_cer=true            # also score characters (score wer --cer) beside words: CER columns in the table
pocketsphinx=auto        # reference line: auto = if the extra `asr` is installed; true; false
jobs=1                   # trainings run at once (each with nproc/jobs threads)
nj=2                     # parallel feature-extraction and decoding jobs
device=auto              # auto | cpu | cuda[:N]
seed=1
overwrite=false          # training stages: false = continue a killed run; true = start afresh
help_message="Usage: ./run.sh [options]   (stages: 1 data, 2 features, 3 lm, 4 training, 5 decoding, 6 scoring, 7 results)"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
. "$SPEECHTOOLS_ROOT/local/recipe_lib.sh"   # run_jobs
set -euo pipefail
logdir=exp/logs
[ -n "$feats_conf" ] || feats_conf="$SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml"
[ -n "$conf" ] || conf="$SPEECHTOOLS_ROOT/conf/asr/ctc_attention_small.yaml"
[ -n "$lm_conf" ] || lm_conf="$SPEECHTOOLS_ROOT/conf/lm/lstm_lm_small.yaml"
[ -n "$stats_set" ] || stats_set=${train_sets##* }
tag=""                   # names of a piece run: characters keep the plain names
if [ "$units" = en_bpe ]; then tag="_$bpe_type$bpe_size"; fi
tokens=data/tokens$tag.txt
bpe_model=data/bpe$tag.model
lm_dir=exp/lm_$(basename "$lm_conf" .yaml)$tag
units_args="--set task_conf.units=$units"   # the units of the LM and of every recogniser
if [ "$units" = en_bpe ]; then units_args="$units_args --set task_conf.bpe_model=$bpe_model"; fi
sp=""                    # the speed-perturbed sets' suffix
if [ -n "$speed_perturb_factors" ]; then sp=_sp; fi
search=$([ "$beam_size" = 1 ] && [ "$ctc_weight" = 1.0 ] && [ "$use_lm" = false ] && echo greedy || echo "beam${beam_size}_ctc${ctc_weight}$([ "$use_lm" = true ] && echo "_lm$lm_weight")")

augment_args() {
  case $1 in
    none) ;;
    specaug) echo "--set model_conf.spec_augment={}" ;;
    mixspeech) echo "--set model_conf.mixspeech.alpha=$mix_alpha --set model_conf.mixspeech.proportion=$mix_proportion" ;;
    mixspeech+specaug) echo "$(augment_args mixspeech) $(augment_args specaug)" ;;
    *) echo "error: unknown --augment row '$1' (none, specaug, mixspeech, mixspeech+specaug)" >&2; return 1 ;;
  esac
}
for a in $augment; do augment_args "$a" > /dev/null; done

row_name() {  # row_name SET AUG: the experiment folder name of a row (exp/<it>)
  echo "$1${sp}_$2$tag"
}

data_stage() {
  # shellcheck disable=SC2086
  local/data.sh --out data $corpus_args
  local s
  for s in $train_sets $dev_set $test_sets; do
    speechtools data validate "data/$s"
  done
}

features_stage() {
  local s perturbed=""
  if [ -n "$sp" ]; then
    for s in $train_sets; do
      speechtools data speed-perturb "data/$s" "data/$s$sp" --factors "$speed_perturb_factors"
      perturbed="$perturbed $s$sp"
    done
  fi
  for s in $(echo $train_sets $perturbed $stats_set $dev_set $test_sets | tr ' ' '\n' | sort -u); do
    speechtools extract-feats "data/$s" "dump/$s" --conf "$feats_conf" --features mel --nj "$nj"
  done
  speechtools compute-stats "dump/$stats_set" --out "dump/$stats_set/stats.npz"
  local bpe=()
  if [ "$units" = en_bpe ]; then bpe=(--bpe-size "$bpe_size" --bpe-type "$bpe_type" --bpe-model "$bpe_model"); fi
  speechtools make-tokens "data/$stats_set" --units "$units" --with-inventory "${bpe[@]}" --out "$tokens"
}

lm_stage() {
  if [ "$use_lm" != true ]; then log "no language model (--use-lm false)"; return 0; fi
  local text=$lm_text format=plain extra=()
  if [ -z "$text" ]; then text=data/$stats_set/text; format=kaldi; fi
  [ -n "$lm_steps" ] && extra=(--set "trainer.max_steps=$lm_steps")
  # shellcheck disable=SC2046,SC2086
  speechtools train --config "$lm_conf" --out-dir "$lm_dir" $(train_resume_args) --device "$device" --seed "$seed" --quiet \
    --set "task_conf.train_text=$text" --set "task_conf.text_format=$format" --set "task_conf.valid_text=data/$dev_set/text" \
    --set "task_conf.valid_text_format=kaldi" --set "task_conf.token_list=$tokens" $units_args "${extra[@]}"
}

train_command() {
  local set=$1 aug=$2 extra=""
  [ -n "$max_steps" ] && extra="--set trainer.max_steps=$max_steps"
  echo "speechtools asr train --config $conf --out-dir exp/$(row_name "$set" "$aug") $(train_resume_args) --device $device --seed $seed --quiet" \
    "--set task_conf.train_data=data/$set$sp --set task_conf.train_feats=dump/$set$sp" \
    "--set task_conf.valid_data=data/$dev_set --set task_conf.valid_feats=dump/$dev_set" \
    "--set task_conf.token_list=$tokens --set task_conf.stats=dump/$stats_set/stats.npz" \
    "--set task_conf.feats_conf=$feats_conf $units_args $extra $(augment_args "$aug")"
}

train_stage() {
  local set aug args=()
  for set in $train_sets; do
    for aug in $augment; do
      args+=("$(row_name "$set" "$aug")" "$(train_command "$set" "$aug")")
    done
  done
  run_jobs "${args[@]}"
}

decode_stage() {
  local set aug test row lm=()
  [ "$use_lm" = true ] && lm=(--lm-dir "$lm_dir" --lm-weight "$lm_weight")
  for set in $train_sets; do
    for aug in $augment; do
      row=$(row_name "$set" "$aug")
      for test in $test_sets; do
        mkdir -p "exp/$row/decode_${test}_$search"
        speechtools asr decode "data/$test" --model-dir "exp/$row" --beam-size "$beam_size" --ctc-weight "$ctc_weight" \
          "${lm[@]}" --nj "$nj" --device "$device" --out "exp/$row/decode_${test}_$search/text"
      done
    done
  done
}

has_pocketsphinx() {
  [ "$pocketsphinx" = true ] || { [ "$pocketsphinx" = auto ] && python -c "import pocketsphinx" 2>/dev/null; }
}

score_one() {  # score_one HYP_DIR TEST: WER of HYP_DIR/text against data/TEST/text -> HYP_DIR/wer.txt (and cer.txt)
  # shellcheck disable=SC2086
  speechtools score wer "data/$2/text" "$1/text" $score_args --details "$1/scoring" | tee "$1/wer.txt"
  if [ "$also_cer" = true ]; then
    # shellcheck disable=SC2086
    speechtools score wer "data/$2/text" "$1/text" $score_args --cer | tee "$1/cer.txt"
  fi
}

score_stage() {
  local set aug test
  for set in $train_sets; do
    for aug in $augment; do
      for test in $test_sets; do
        score_one "exp/$(row_name "$set" "$aug")/decode_${test}_$search" "$test"
      done
    done
  done
  if has_pocketsphinx; then
    for test in $test_sets; do
      mkdir -p "exp/pocketsphinx/decode_$test"
      [ -s "exp/pocketsphinx/decode_$test/text" ] || speechtools asr decode "data/$test" --out "exp/pocketsphinx/decode_$test/text"
      score_one "exp/pocketsphinx/decode_$test" "$test"
    done
  elif [ "$pocketsphinx" = false ]; then
    log "no pocketsphinx reference line (--pocketsphinx false)"
  else
    log "pocketsphinx reference line skipped (install the optional extra: pip install 'speechtools[asr]')"
  fi
}

wer_of() {  # wer_of FILE: the %WER (or %CER) figure of a score wer report, or "–"
  [ -f "$1" ] && sed -n 's/^%[A-Z]*ER \([0-9.]*\).*/\1/p' "$1" | head -1 || echo "–"
}

cells() {  # cells DECODE_DIR: its table cells (WER, and CER with --also-cer true)
  printf '%s |' "$(wer_of "$1/wer.txt")"
  if [ "$also_cer" = true ]; then printf ' %s |' "$(wer_of "$1/cer.txt")"; fi
}

results_stage() {
  local set aug test row
  {
    printf '| model | training set | augmentation |'
    for test in $test_sets; do
      printf ' %s %s |' "$test" "$([ "${score_args#*--cer}" != "$score_args" ] && echo CER || echo WER) %"
      [ "$also_cer" = true ] && printf ' %s CER %% |' "$test"
    done
    printf '\n|---|---|---|'
    for test in $test_sets; do printf -- '---|'; [ "$also_cer" = true ] && printf -- '---|'; done
    printf '\n'
    for set in $train_sets; do
      for aug in $augment; do
        row="| $(row_name "$set" "$aug") ($search) | $set$sp ($(wc -l < "data/$set$sp/text") utts) | $aug |"
        for test in $test_sets; do row="$row $(cells "exp/$(row_name "$set" "$aug")/decode_${test}_$search")"; done
        echo "$row"
      done
    done
    if [ -d exp/pocketsphinx ]; then
      row="| pocketsphinx (reference line) | – | – |"
      for test in $test_sets; do row="$row $(cells "exp/pocketsphinx/decode_$test")"; done
      echo "$row"
    fi
  } > exp/results$tag.md
  cat exp/results$tag.md
}

run_stage 1 "data preparation (local/data.sh $corpus_args)" data_stage
run_stage 2 "speed perturbation, features, stats and token list" features_stage
run_stage 3 "language model -> $lm_dir" lm_stage
run_stage 4 "recogniser training: $train_sets × $augment" train_stage
run_stage 5 "decoding ($search): $test_sets" decode_stage
run_stage 6 "scoring" score_stage
run_stage 7 "results -> exp/results$tag.md" results_stage
if [ "$stop_stage" -ge 4 ]; then
  for set in $train_sets; do
    for aug in $augment; do
      echo "model directory: $(pwd)/exp/$(row_name "$set" "$aug")"
    done
  done
fi
