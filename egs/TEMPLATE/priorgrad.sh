#!/usr/bin/env bash
# Shared stage script of the PriorGrad recipes: the vocoder and the acoustic model, each trained with
# the data-dependent prior (prior: data) and the N(0, I) baseline (prior: standard) on the same data,
# steps, batch and seed, measured at three equal-step checkpoints. A corpus's run.sh sets its
# defaults and forwards "$@" here. Run from the recipe folder.
#
#   1-3 data, features, durations    as ../TEMPLATE/tts.sh (data/, dump/, exp/aligner_*)
#   4 vocoder training      exp/vocoder_<prior> for each prior; checkpoints every 25 % of the steps
#   5 vocoder scoring       exp/vocoder_<prior>/snap_step_<N>: the EMA weights at each scored checkpoint;
#                           copy-synthesis of the real eval mels (T = vocode_steps) by each and by
#                           Griffin-Lim: MCD, PESQ, STOI, DNSMOS, pocketsphinx WER
#   6 acoustic training     exp/acoustic_<prior> (PriorGrad acoustic model) and exp/baseline
#                           (FastSpeech 2, same steps, batch, EMA and seed)
#   7 acoustic scoring      snapshots as in stage 5; synthesis of the eval text through one vocoder
#                           (Griffin-Lim) for every row: MCD, log-F0 RMSE, DNSMOS, pocketsphinx WER
#   8 results               exp/results.md (exp/results_{vocoder,acoustic}.{md,json}: speechtools score compare)
stage=1                  # first stage to run
stop_stage=8             # last stage to run
corpus=""                # corpus folder; empty = the recipe's bundled mini corpus
data_prep=ljspeech       # speechtools data prepare <data_prep>
train_set=train
dev_set=dev
eval_set=eval
aligner_conf=conf/aligner_tiny.yaml                 # aligner experiment config (stage 3)
aligner_steps=""         # override trainer.max_steps of the aligner
vocoder_conf=""          # vocoder config (default: $SPEECHTOOLS_ROOT/conf/vocoder/priorgrad_cpu.yaml)
acoustic_conf=""         # PriorGrad acoustic config (default: $SPEECHTOOLS_ROOT/conf/tts/priorgrad_acoustic_small.yaml)
baseline_conf=""         # FastSpeech 2 baseline config (empty or "none": no baseline)
priors="data standard"   # the priors trained (data = PriorGrad, standard = N(0, I) baseline)
vocoder_steps=8000       # vocoder training steps, a multiple of 4 (checkpoints at 25, 50 and 100 %)
acoustic_steps=2000      # acoustic training steps, PriorGrad and baseline alike (a multiple of 4)
acoustic_ema=0.995       # EMA decay of every acoustic model (the baseline included)
checkpoints="25 50 100"  # checkpoints scored, in % of the steps (each of 25, 50, 75, 100)
vocode_steps=6           # vocoder sampling steps in the scoring stages (6, 12 or 50)
num_eval=""              # stages 5, 7 and 8 score only the first N clips of --eval-set by id (empty: all of it)
gl_iters=60              # Griffin-Lim iterations of the vocoder baseline and the acoustic scoring
feats_conf=""            # feature YAML (default: $SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml)
frontend=en_phone        # text front-end
jobs=1                   # trainings run at once (each with nproc/jobs threads)
nj=2                     # parallel feature-extraction jobs
device=auto              # auto | cpu | cuda[:N]
ngpu=""                  # GPUs per training: empty = use --device; 0 = CPU; N > 1 = DDP over N GPUs
seed=1
asr=auto                 # auto: ASR scoring if pocketsphinx is installed; true: required; false: skip
overwrite=false          # training stages: false = continue a killed run; true = start afresh
help_message="Usage: ./run.sh [options]   (stages: 1-3 data/features/durations, 4 vocoder training, 5 vocoder scoring, 6 acoustic training, 7 acoustic scoring, 8 results)"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
. "$SPEECHTOOLS_ROOT/local/recipe_lib.sh"   # run_jobs, asr_flag
set -euo pipefail
logdir=exp/logs
[ -n "$feats_conf" ] || feats_conf="$SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml"
[ -n "$vocoder_conf" ] || vocoder_conf="$SPEECHTOOLS_ROOT/conf/vocoder/priorgrad_cpu.yaml"
[ -n "$acoustic_conf" ] || acoustic_conf="$SPEECHTOOLS_ROOT/conf/tts/priorgrad_acoustic_small.yaml"
[ "$baseline_conf" = none ] && baseline_conf=""
tts=../../TEMPLATE/tts.sh
tts_args=(--data-prep "$data_prep" --train-set "$train_set" --dev-set "$dev_set" --eval-set "$eval_set"
          --aligner-conf "$aligner_conf" --feats-conf "$feats_conf" --frontend "$frontend" --nj "$nj"
          --device "$device" --seed "$seed" --asr "$asr" --overwrite "$overwrite")
[ -n "$corpus" ] && tts_args+=(--corpus "$corpus")
[ -n "$aligner_steps" ] && tts_args+=(--aligner-steps "$aligner_steps")
[ -n "$ngpu" ] && tts_args+=(--ngpu "$ngpu")
for n in "$vocoder_steps" "$acoustic_steps"; do
  if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 4 ] || [ $((n % 4)) -ne 0 ]; then
    echo "error: --vocoder-steps and --acoustic-steps must be multiples of 4 (checkpoints at 25/50/100 %), got $n" >&2
    exit 1
  fi
done

if [ -n "$num_eval" ] && ! [[ $num_eval =~ ^[1-9][0-9]*$ ]]; then
  echo "error: --num-eval takes a positive number of clips, got $num_eval" >&2
  exit 1
fi

for pct in $checkpoints; do
  case $pct in 25|50|75|100) ;; *) echo "error: --checkpoints takes 25, 50, 75 or 100 (% of the steps), got $pct" >&2; exit 1 ;; esac
done

# The scored checkpoints of a budget of $1 steps (checkpoints are saved every 25 %).
checkpoint_steps() {
  local pct
  for pct in $checkpoints; do echo $(($1 * pct / 100)); done
}

has_priors() {  # has_priors A B: both priors are trained
  [[ " $priors " == *" $1 "* && " $priors " == *" $2 "* ]]
}

acoustic_models() {
  local p
  for p in $priors; do echo "acoustic_$p"; done
  [ -n "$baseline_conf" ] && echo baseline
  return 0
}

vocoder_train_cmd() {
  local p=$1 resume=--auto-resume
  [ "$overwrite" = true ] && resume=--overwrite
  # shellcheck disable=SC2046
  printf '%q ' speechtools train --config "$vocoder_conf" --out-dir "exp/vocoder_$p" $(train_launch_args) \
    --seed "$seed" --quiet "$resume" --set "model_conf.prior=$p" \
    --set "task_conf.train_data=data/$train_set" --set "task_conf.train_feats=dump/$train_set" \
    --set "task_conf.valid_data=data/$dev_set" --set "task_conf.valid_feats=dump/$dev_set" \
    --set "task_conf.stats=dump/$train_set/stats.npz" --set "task_conf.feats_conf=$feats_conf" \
    --set "trainer.max_steps=$vocoder_steps" --set "trainer.save_interval=$((vocoder_steps / 4))" \
    --set "trainer.keep_last=0" --set "trainer.valid_interval=$((vocoder_steps / 4))"
}

vocoder_stage() {
  local p cmds=()
  for p in $priors; do cmds+=("vocoder_$p" "$(vocoder_train_cmd "$p")"); done
  run_jobs "${cmds[@]}"
}

# One acoustic training through tts.sh's training stage: its task_conf and options, our steps.
acoustic_train_cmd() {
  local conf=$1 tag=$2 set_args=$3
  local train_args="--set trainer.save_interval=$((acoustic_steps / 4)) --set trainer.keep_last=0"
  train_args+=" --set trainer.average_last=1 --set trainer.ema_decay=$acoustic_ema $set_args"
  printf '%q ' "$tts" "${tts_args[@]}" --stage 4 --stop-stage 4 --logdir "$logdir/$tag" --conf "$conf" \
    --tag "$tag" --max-steps "$acoustic_steps" --train-args "$train_args"
}

acoustic_stage() {
  local p cmds=()
  # the baseline first: with --jobs 2 the slowest training runs beside the others
  [ -n "$baseline_conf" ] && cmds+=(baseline "$(acoustic_train_cmd "$baseline_conf" baseline "")")
  for p in $priors; do cmds+=("acoustic_$p" "$(acoustic_train_cmd "$acoustic_conf" "acoustic_$p" "--set model_conf.prior=$p")"); done
  run_jobs "${cmds[@]}"
}

# snapshots STEPS MODEL...: exp/MODEL/snap_step_<N>, the EMA weights of each scored checkpoint.
snapshots() {
  local steps=$1 m n
  shift
  for m in "$@"; do
    for n in $(checkpoint_steps "$steps"); do
      speechtools average-checkpoints --model-dir "exp/$m" --ema --out-dir "exp/$m/snap_step_$n" \
        "exp/$m/checkpoints/step_$n.pt"
    done
  done
}

score_copy() {
  local dir=$1
  # shellcheck disable=SC2046
  speechtools score vocoder --ref "data/$eval_set" --hyp "$dir" --feats-conf "$feats_conf" $(asr_flag) \
    --out-dir "$dir/scoring" --json "$dir/scores.json"
}

# scored_set: data/<eval set>_first<N> (speechtools data subset) and its mel list (absolute paths into the eval
# set's feature store, beside a copy of its feats_config.yaml) for --num-eval N; nothing without it.
scored_set() {
  [ "$eval_set" = "$full_eval_set" ] && return 0
  [ -s "data/$eval_set/text" ] || speechtools data subset "data/$full_eval_set" "data/$eval_set" --first "$num_eval"
  mkdir -p "dump/$eval_set"
  cp "dump/$full_eval_set/feats_config.yaml" "dump/$eval_set/"
  awk -v dir="$(cd "dump/$full_eval_set" && pwd)" 'NR == FNR {keep[$1]; next}
    $1 in keep {print $1, ($2 ~ /^\// ? $2 : dir "/" $2)}' "data/$eval_set/text" "dump/$full_eval_set/mel.scp" \
    > "dump/$eval_set/mel.scp"
}

vocoder_score_stage() {
  local p n dir
  scored_set
  # shellcheck disable=SC2046
  snapshots "$vocoder_steps" $(printf 'vocoder_%s\n' $priors)
  dir=exp/griffin_lim/copy_$eval_set
  speechtools vocode --vocoder griffin-lim --feats-scp "dump/$eval_set/mel.scp" --out-dir "$dir" \
    --vocoder-set "n_iter=$gl_iters" --batch-size 1
  score_copy "$dir"
  for p in $priors; do
    for n in $(checkpoint_steps "$vocoder_steps"); do
      dir=exp/vocoder_$p/snap_step_$n/copy_${eval_set}_T$vocode_steps
      speechtools vocode --vocoder-dir "exp/vocoder_$p/snap_step_$n" --feats-scp "dump/$eval_set/mel.scp" \
        --out-dir "$dir" --steps "$vocode_steps" --seed "$seed" --device "$device"
      score_copy "$dir"
    done
  done
}

acoustic_score_stage() {
  local m n dir
  scored_set
  # shellcheck disable=SC2046
  snapshots "$acoustic_steps" $(acoustic_models)
  for m in $(acoustic_models); do
    for n in $(checkpoint_steps "$acoustic_steps"); do
      dir=exp/$m/snap_step_$n/decode_$eval_set
      eval "$(gl_score_command "exp/$m/snap_step_$n" "$dir" "$dir/scoring" "$dir/scores.json")"
    done
  done
}

results_stage() {
  local p n m args=() versus=() final mid=$((acoustic_steps / 2))
  final=$(checkpoint_steps "$vocoder_steps" | tail -n 1)
  for n in $(checkpoint_steps "$vocoder_steps"); do
    for p in $priors; do
      args+=(--system "vocoder_$p@$n=exp/vocoder_$p/snap_step_$n/copy_${eval_set}_T$vocode_steps/scores.json")
    done
    has_priors data standard && versus+=(--versus "vocoder_data@$n,vocoder_standard@$n")
  done
  args+=(--system "griffin_lim=exp/griffin_lim/copy_$eval_set/scores.json")
  for p in $priors; do versus+=(--versus "vocoder_$p@$final,griffin_lim"); done
  speechtools score compare "${args[@]}" "${versus[@]}" --metric mcd_db --metric pesq_wb --metric stoi \
    --metric p808_mos --metric ovrl_mos --metric asr_wer \
    --title "Vocoder copy-synthesis of $eval_set (T = $vocode_steps; Griffin-Lim $gl_iters iterations)" \
    --out exp/results_vocoder.md --json exp/results_vocoder.json
  args=() versus=()
  for n in $(checkpoint_steps "$acoustic_steps"); do
    for m in $(acoustic_models); do
      args+=(--system "$m@$n=exp/$m/snap_step_$n/decode_$eval_set/scores.json")
    done
    has_priors data standard && versus+=(--versus "acoustic_data@$n,acoustic_standard@$n")
    if [ -n "$baseline_conf" ]; then
      for p in $priors; do versus+=(--versus "acoustic_$p@$n,baseline@$n"); done
    fi
  done
  # the paper's "fewer steps" claim: PriorGrad at half the steps against the baseline at all of them
  if has_priors data standard && [[ " $checkpoints " == *" 50 "* && " $checkpoints " == *" 100 "* ]]; then
    versus+=(--versus "acoustic_data@$mid,acoustic_standard@$acoustic_steps")
  fi
  speechtools score compare "${args[@]}" "${versus[@]}" --metric mcd_db --metric log_f0_rmse \
    --metric p808_mos --metric ovrl_mos --metric asr_wer \
    --title "Acoustic models on $eval_set (Griffin-Lim $gl_iters iterations for every row)" \
    --out exp/results_acoustic.md --json exp/results_acoustic.json
  cat exp/results_vocoder.md <(echo) exp/results_acoustic.md > exp/results.md
}

if [ "$stage" -le 3 ]; then  # tts.sh's stages 1-3, with their own logs
  "$tts" "${tts_args[@]}" --stage "$stage" --stop-stage "$(( stop_stage < 3 ? stop_stage : 3 ))"
fi
full_eval_set=$eval_set
[ -n "$num_eval" ] && eval_set=${full_eval_set}_first$num_eval   # what stages 5, 7 and 8 score
run_stage 4 "vocoder training ($priors) -> exp/vocoder_*" vocoder_stage
run_stage 5 "vocoder snapshots, copy-synthesis and scoring" vocoder_score_stage
run_stage 6 "acoustic model training ($priors${baseline_conf:+, baseline}) -> exp/acoustic_*${baseline_conf:+, exp/baseline}" acoustic_stage
run_stage 7 "acoustic snapshots, synthesis and scoring" acoustic_score_stage
run_stage 8 "results" results_stage
for m in $(printf 'vocoder_%s\n' $priors) $(acoustic_models); do
  echo "model directory: $(pwd)/exp/$m"
done
