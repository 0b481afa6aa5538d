#!/usr/bin/env bash
# Shared stage script of the AdaSpeech custom-voice recipes: one source model (AdaSpeech with
# AdaSpeech 2's mel encoder) trained on the source corpora, adapted to a new speaker with equal steps
# in four ways, then the new speaker's held-out sentences synthesised by each and scored against the
# real recordings. A recipe's run.sh sets its defaults and forwards "$@" here. Run from the recipe folder.
#
#   1 data          data/src_<corpus>/ per source corpus, combined into data/train and data/dev;
#                   the target speaker's data/target_adapt (the first --num-utts clips of its adapt
#                   set: the adaptation clips, also the similarity reference) and data/target_eval
#   2 features      as ../TEMPLATE/tts.sh stage 2 (the eval set = target_eval, so the token list
#                   covers its text), plus dump/target_adapt
#   3 durations     as tts.sh stage 3 (the aligner trained on the source data), plus the durations
#                   of data/target_adapt with that aligner (plots: exp/aligner_*/plots_target_adapt)
#   4 source        the source model exp/source (tts.sh stage 4, speaker-ID embedding on)
#   5 adaptation    speechtools adapt, the same --adapt-steps, lr and seed for each row:
#                     exp/adapt_embedding   speaker embedding only (transcribed)
#                     exp/adapt_decoder     the whole decoder side + embedding (transcribed)
#                     exp/adapt_adaspeech   AdaSpeech: CLN projections + embedding (transcribed)
#                     exp/adapt_adaspeech2  AdaSpeech 2: CLN projections, the clips untranscribed
#                   exp/adapt_<row>/params.json: parameters trained and stored per speaker
#   6 synthesis     target_eval's text by the source model (no adaptation: a source speaker's
#                   embedding and the reference clip) and by the four adapted models (the target
#                   speaker), every row with the same reference clip -> exp/<dir>/decode_target_eval
#                   (--jobs rows at once; logs exp/logs/synth_<row>.log)
#   7 scoring       score tts (MCD, log-F0 RMSE, DNSMOS, pocketsphinx WER) against the real eval
#                   recordings; score similarity (resemblyzer d-vectors) against the centroid of the
#                   target's adaptation clips; the real eval recordings scored the same way (the ceiling);
#                   --jobs rows at once (logs exp/logs/score_<row>.log)
#   8 results       exp/results.md, exp/results.json (speechtools score compare with the head-to-heads
#                   of the targets), exp/results_params.{md,json} and exp/results_targets.{md,json}
#   9 duration      AdaSpeech 3's mixture-of-experts duration predictor against the plain one: two
#                   models trained from scratch on the source data plus the target's adaptation clips
#                   (data/duration_train: every speaker), identical but for adaptor.duration.kind
#                   (--duration-conf-plain, --duration-conf-moe; the gate's speaking-rate classes are
#                   the training set's terciles), the same steps and seed -> exp/duration_{plain,moe};
#                   bench/duration_error.py on every speaker's held-out sentences (the source corpora's
#                   eval sets and data/target_eval -> data/duration_eval) -> exp/results_duration.{md,json}
stage=1                  # first stage to run
stop_stage=9             # last stage to run
source_corpora="kathleen ljspeech"  # source corpora (speechtools data prepare NAME), combined into data/train, data/dev
target_corpus=philipp    # the new speaker's corpus: a data prepare NAME writing adapt/ and eval/ (philipp, vctk)
corpus_kathleen=""       # Kathleen folder (wavs/, text.psv)
corpus_ljspeech=""       # LJSpeech-1.1 folder; empty = the bundled 32-clip mini corpus
corpus_libritts=""       # LibriTTS folder (train-clean-100/, dev-clean/, ...)
corpus_philipp=""        # Philipp folder (LJSpeech layout, 141 clips)
corpus_vctk=""           # VCTK-Corpus-0.92 folder
libritts_args="--train-subsets train-clean-100 --eval-subsets ''"  # extra arguments of data prepare libritts
ljspeech_args=""         # extra arguments of data prepare ljspeech (e.g. "--dev-size 100 --eval-size 100")
vctk_args="--speakers p226 --adapt-size 20"  # extra arguments of data prepare vctk (ONE speaker)
num_eval=""              # synthesise and score only the first N target eval sentences (empty = all)
conf=""                  # source model config (default: $SPEECHTOOLS_ROOT/conf/tts/adaspeech2_small.yaml; needs mel_encoder: true)
aligner_conf=conf/aligner_small.yaml  # aligner experiment config (stage 3)
aligner_steps=""         # override trainer.max_steps of the aligner
source_steps=""          # override trainer.max_steps of the source model (default: the config's)
adapt_steps=500          # adaptation steps, the same for every adapted row
adapt_lr=1e-3            # adaptation learning rate (Adam, constant), the same for every row
num_utts=20              # adaptation clips: the first N (sorted ids) of the target's adapt set -> data/target_adapt
source_speaker=""        # source speaker of the no-adaptation row (default: the first of exp/source/speakers.txt)
ref_utt=""               # target adaptation clip given as --reference-audio to every row (default: the first id)
feats_conf=""            # feature YAML (default: $SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml)
frontend=en_phone        # text front-end
gl_iters=60              # Griffin-Lim iterations of every row's synthesis
jobs=1                   # adaptations, syntheses and scorings run at once (each with nproc/jobs threads)
nj=2                     # parallel feature-extraction jobs
device=auto              # auto | cpu | cuda[:N]
ngpu=""                  # GPUs for the source training: empty = use --device; 0 = CPU; N > 1 = DDP
seed=1
asr=auto                 # auto: ASR scoring if pocketsphinx is installed; true: required; false: skip
overwrite=false          # source training: false = continue a killed run; true = start afresh (and redo every adaptation)
duration_conf_plain=""   # stage 9 plain row (default: $SPEECHTOOLS_ROOT/conf/tts/adaspeech_small.yaml)
duration_conf_moe=""     # stage 9 moe row (default: $SPEECHTOOLS_ROOT/conf/tts/adaspeech3_small.yaml: the same but the predictor)
duration_steps=""        # stage 9 trainer.max_steps of both rows (default: --source-steps, else the configs')
duration_args=""         # stage 9 extra speechtools train arguments of both rows (e.g. "--set model_conf.phoneme_predictor_warmup=400")
help_message="Usage: ./run.sh [options]   (stages: 1 data, 2 features, 3 durations, 4 source training, 5 adaptation, 6 synthesis, 7 scoring, 8 results, 9 MoE vs plain duration predictor)"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
. "$SPEECHTOOLS_ROOT/local/recipe_lib.sh"   # run_jobs, asr_flag
set -euo pipefail
logdir=exp/logs
[ -n "$feats_conf" ] || feats_conf="$SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml"
[ -n "$conf" ] || conf="$SPEECHTOOLS_ROOT/conf/tts/adaspeech2_small.yaml"
[ -n "$duration_conf_plain" ] || duration_conf_plain="$SPEECHTOOLS_ROOT/conf/tts/adaspeech_small.yaml"
[ -n "$duration_conf_moe" ] || duration_conf_moe="$SPEECHTOOLS_ROOT/conf/tts/adaspeech3_small.yaml"
[ -n "$duration_steps" ] || duration_steps=$source_steps
tts=../../TEMPLATE/tts.sh
tts_args=(--train-set train --dev-set dev --eval-set target_eval --aligner-conf "$aligner_conf"
          --feats-conf "$feats_conf" --frontend "$frontend" --nj "$nj" --device "$device" --seed "$seed"
          --overwrite "$overwrite")
[ -n "$aligner_steps" ] && tts_args+=(--aligner-steps "$aligner_steps")
[ -n "$ngpu" ] && tts_args+=(--ngpu "$ngpu")
aligner_dir=exp/aligner_$(basename "$aligner_conf" .yaml)
# rows of the table: name, model directory (exp/<dir>), speechtools adapt arguments
adapt_rows="embedding decoder adaspeech adaspeech2"
adapt_args() {
  case $1 in
    embedding) echo --adapt embedding ;;
    decoder) echo --adapt decoder ;;
    adaspeech) echo --adapt cln ;;
    adaspeech2) echo --adapt cln --untranscribed ;;
  esac
}
model_dirs() {
  local r
  echo source
  for r in $adapt_rows; do echo "adapt_$r"; done
  echo duration_plain
  echo duration_moe
}
row_dir() {  # the model directory of a table row
  case $1 in source) echo exp/source ;; *) echo "exp/adapt_$1" ;; esac
}

corpus_of() {  # the --corpus folder option of a corpus name (empty: data prepare's default)
  local var=corpus_$1
  echo "${!var:-}"
}

prepare() {  # prepare NAME OUT: speechtools data prepare NAME with its folder and extra arguments
  local name=$1 out=$2 dir extra=()
  dir=$(corpus_of "$name")
  [ -n "$dir" ] && extra+=(--corpus "$dir")
  case $name in
    libritts) eval "extra+=($libritts_args)" ;;
    ljspeech) eval "extra+=($ljspeech_args)" ;;
    vctk) eval "extra+=($vctk_args)" ;;
  esac
  speechtools data prepare "$name" --out "$out" "${extra[@]}"
}

data_stage() {
  local c s srcs
  for c in $source_corpora; do
    prepare "$c" "data/src_$c"
  done
  for s in train dev; do
    srcs=()
    for c in $source_corpora; do [ -d "data/src_$c/$s" ] && srcs+=("data/src_$c/$s"); done
    rm -rf "data/$s"
    speechtools data combine "data/$s" "${srcs[@]}"
  done
  prepare "$target_corpus" data/target
  rm -rf data/target_adapt data/target_eval
  speechtools data subset data/target/adapt data/target_adapt --first "$num_utts"
  if [ -n "$num_eval" ]; then
    speechtools data subset data/target/eval data/target_eval --first "$num_eval"
  else
    speechtools data combine data/target_eval data/target/eval
  fi
  for s in train dev target_adapt target_eval; do
    speechtools data validate "data/$s"
  done
  if [ "$(cut -d' ' -f2 data/target_adapt/utt2spk | sort -u | wc -l)" -ne 1 ]; then
    echo "error: data/target_adapt must hold one speaker (vctk: --vctk-args '--speakers pNNN --adapt-size 20')" >&2
    return 1
  fi
  log "source speakers: $(cut -d' ' -f2 data/train/utt2spk | sort -u | tr '\n' ' ')"
  log "target speaker: $(head -n 1 data/target_adapt/utt2spk | cut -d' ' -f2), $(wc -l < data/target_adapt/wav.scp) adaptation and $(wc -l < data/target_eval/wav.scp) eval utterances"
}

features_stage() {
  "$tts" "${tts_args[@]}" --stage 2 --stop-stage 2 --logdir "$logdir/tts"
  speechtools extract-feats data/target_adapt dump/target_adapt --conf "$feats_conf" --nj "$nj"
}

durations_stage() {
  "$tts" "${tts_args[@]}" --stage 3 --stop-stage 3 --logdir "$logdir/tts"
  speechtools align durations --model-dir "$aligner_dir" --data data/target_adapt --feats dump/target_adapt \
    --device "$device" --plot-dir "$aligner_dir/plots_target_adapt" --plot-n 2
}

source_stage() {
  local extra=()
  [ -n "$source_steps" ] && extra+=(--max-steps "$source_steps")
  "$tts" "${tts_args[@]}" --stage 4 --stop-stage 4 --logdir "$logdir/tts" --conf "$conf" --tag source \
    --train-args "--set task_conf.speakers=true" "${extra[@]}"
}

# One adaptation (a command line for run_jobs; its output in $logdir/adapt_<row>.log).
adapt_cmd() {
  # shellcheck disable=SC2046
  printf '%q ' speechtools adapt --source-dir exp/source --data-dir data/target_adapt --feats dump/target_adapt \
    --out-dir "exp/adapt_$1" $(adapt_args "$1") --steps "$adapt_steps" --lr "$adapt_lr" --num-utts "$num_utts" \
    --seed "$seed" --device "$device" --quiet
}

# write_params ROW: exp/adapt_<row>/params.json from the counts speechtools adapt printed.
write_params() {
  local row=$1 log=$logdir/adapt_$1.log trained total stored parts
  trained=$(sed -n 's/.*: \([0-9,]*\) of \([0-9,]*\) parameters trained$/\1/p' "$log" | tr -d ,)
  total=$(sed -n 's/.*: \([0-9,]*\) of \([0-9,]*\) parameters trained$/\2/p' "$log" | tr -d ,)
  stored=$(sed -n 's/^per-speaker parameters: \([0-9,]*\) (\(.*\)) in .*/\1/p' "$log" | tr -d ,)
  parts=$(sed -n 's/^per-speaker parameters: \([0-9,]*\) (\(.*\)) in .*/\2/p' "$log")
  if [ -z "$trained" ] || [ -z "$total" ] || [ -z "$stored" ]; then
    echo "error: no parameter counts in $log" >&2
    return 1
  fi
  printf '{"row": "%s", "adapt_args": "%s", "steps": %s, "lr": %s, "trained": %s, "total": %s, "per_speaker": %s, "per_speaker_parts": "%s"}\n' \
    "$row" "$(adapt_args "$row")" "$adapt_steps" "$adapt_lr" "$trained" "$total" "$stored" "$parts" > "exp/adapt_$row/params.json"
}

# The four adaptations; a finished one (params.json present) is kept unless --overwrite true
# (adaptation has no resume: a killed one is rerun whole; its directory is written whole or not at all).
adapt_stage() {
  local row rc=0 cmds=() ran=()
  for row in $adapt_rows; do
    if [ "$overwrite" != true ] && [ -s "exp/adapt_$row/params.json" ]; then
      log "exp/adapt_$row is done (--overwrite true to redo it)"
      continue
    fi
    cmds+=("adapt_$row" "$(adapt_cmd "$row")")
    ran+=("$row")
  done
  [ ${#cmds[@]} -eq 0 ] || run_jobs "${cmds[@]}" || rc=1
  for row in "${ran[@]}"; do
    [ -f "exp/adapt_$row/config.yaml" ] && write_params "$row"
  done
  for row in $adapt_rows; do
    [ -s "exp/adapt_$row/params.json" ] && log "adapt_$row: $(cat "exp/adapt_$row/params.json")"
  done
  return $rc
}

target_speaker() {
  head -n 1 data/target_adapt/utt2spk | cut -d' ' -f2
}

reference_clip() {  # the wav path of $ref_utt (default: the first adaptation utterance)
  local utt=$ref_utt wav
  [ -n "$utt" ] || utt=$(head -n 1 data/target_adapt/wav.scp | cut -d' ' -f1)
  wav=$(awk -v u="$utt" '$1 == u { $1 = ""; sub(/^ /, ""); print; exit }' data/target_adapt/wav.scp)
  if [ -z "$wav" ] || [ ! -f "$wav" ]; then
    echo "error: no audio file for the reference utterance '$utt' in data/target_adapt/wav.scp (a path, not a pipe)" >&2
    return 1
  fi
  echo "$wav"
}

# One row's synthesis of target_eval (a command line for run_jobs; its output in $logdir/synth_<row>.log).
synth_cmd() {
  local row=$1 ref=$2 dir spk
  dir=$(row_dir "$row")
  if [ "$row" = source ]; then
    spk=$source_speaker
    [ -n "$spk" ] || spk=$(head -n 1 exp/source/speakers.txt | cut -d' ' -f1)
  else
    spk=$(target_speaker)
  fi
  log "synthesis $row: --model-dir $dir --speaker $spk --reference-audio $ref"
  printf 'rm -rf %q && ' "$dir/decode_target_eval"
  printf '%q ' speechtools synth --model-dir "$dir" --text-file data/target_eval/text --ids --out-dir "$dir/decode_target_eval" \
    --speaker "$spk" --reference-audio "$ref" --device "$device" --vocoder-set "n_iter=$gl_iters" --batch-size 8
}

synth_stage() {
  local row ref cmds=()
  ref=$(reference_clip)
  for row in source $adapt_rows; do
    cmds+=("synth_$row" "$(synth_cmd "$row" "$ref")")
  done
  run_jobs "${cmds[@]}"
}

# score_cmd OUT HYP: the judges of one row (a command line for run_jobs); the same similarity reference for
# all (the adaptation clips' centroid)
score_cmd() {
  local out=$1 hyp=$2
  printf 'mkdir -p %q && ' "$out"
  # shellcheck disable=SC2046
  printf '%q ' speechtools score tts --ref data/target_eval --hyp "$hyp" --feats-conf "$feats_conf" --dnsmos $(asr_flag) \
    --out-dir "$out/scoring" --json "$out/scores.json"
  printf '&& '
  printf '%q ' speechtools score similarity --ref data/target_adapt --hyp "$hyp" --against centroid --json "$out/similarity.json"
}

score_stage() {
  local row dir cmds=()
  for row in source $adapt_rows; do
    dir=$(row_dir "$row")/decode_target_eval
    cmds+=("score_$row" "$(score_cmd "$dir" "$dir")")
  done
  # the ceiling: the real eval recordings (MCD and log-F0 RMSE are 0 by construction)
  cmds+=(score_real "$(score_cmd exp/real data/target_eval)")
  run_jobs "${cmds[@]}"
}

results_stage() {
  local row args=() dir
  for row in source $adapt_rows; do
    dir=$(row_dir "$row")/decode_target_eval
    args+=(--system "$row=$dir/similarity.json" --system "$row=$dir/scores.json")
  done
  args+=(--system "real=exp/real/similarity.json" --system "real=exp/real/scores.json")
  speechtools score compare "${args[@]}" --versus adaspeech,decoder --versus adaspeech,embedding \
    --versus adaspeech2,adaspeech --versus adaspeech,source \
    --metric speaker_sim --metric mcd_db --metric log_f0_rmse --metric p808_mos --metric ovrl_mos --metric asr_wer \
    --title "Adaptation to $(target_speaker): $(wc -l < data/target_eval/wav.scp) held-out sentences, $adapt_steps adaptation steps per row" \
    --out exp/results_table.md --json exp/results.json
  python "$SPEECHTOOLS_ROOT/local/adaspeech_results.py" --results exp/results.json --exp exp --rows "$adapt_rows" \
    --out-prefix exp/results
  cat exp/results_table.md <(echo) exp/results_params.md <(echo) exp/results_targets.md > exp/results.md
  cat exp/results.md
}

# Stage 9 data: every speaker's training clips (the source's and the target's adaptation clips) and
# held-out sentences (the source corpora's eval sets and the target's), features and durations (the
# stage 3 aligner).
duration_data() {
  local c s srcs=()
  rm -rf data/duration_train data/duration_eval
  speechtools data combine data/duration_train data/train data/target_adapt
  for c in $source_corpora; do [ -d "data/src_$c/eval" ] && srcs+=("data/src_$c/eval"); done
  speechtools data combine data/duration_eval "${srcs[@]}" data/target_eval
  for s in duration_train duration_eval; do
    speechtools extract-feats "data/$s" "dump/$s" --conf "$feats_conf" --nj "$nj"
    # data combine keeps the stage-3 durations when every source has them (duration_train does)
    [ -s "data/$s/durations" ] || speechtools align durations --model-dir "$aligner_dir" --data "data/$s" --feats "dump/$s" --device "$device"
  done
  speechtools compute-stats dump/duration_train --out dump/duration_train/stats.npz
}

# One stage 9 training (a command line for run_jobs): config $2 on data/duration_train -> exp/duration_$1.
duration_train_cmd() {
  local extra=()
  [ -n "$duration_steps" ] && extra+=(--max-steps "$duration_steps")
  printf '%q ' "$tts" "${tts_args[@]}" --train-set duration_train --eval-set duration_eval --stage 4 --stop-stage 4 \
    --logdir "$logdir/duration_$1" --conf "$2" --tag "duration_$1" --train-args "--set task_conf.speakers=true $duration_args" "${extra[@]}"
}

duration_stage() {
  local bounds moe_conf=exp/duration_moe.yaml
  duration_data
  # the moe row's config: --duration-conf-moe with the training set's speaking-rate terciles as gate classes
  bounds=$(python -m speechtools.tts.speaking_rate data/duration_train/durations 3)
  log "speaking-rate classes of the moe gate (frames per token): $bounds"
  printf 'base: %s\nmodel_conf:\n  adaptor:\n    duration: {gate_boundaries: %s}\n' \
    "$(cd "$(dirname "$duration_conf_moe")" && pwd)/$(basename "$duration_conf_moe")" "$bounds" > "$moe_conf"
  run_jobs duration_plain "$(duration_train_cmd plain "$duration_conf_plain")" duration_moe "$(duration_train_cmd moe "$moe_conf")"
  python "$SPEECHTOOLS_ROOT/bench/duration_error.py" --model-dir plain=exp/duration_plain --model-dir moe=exp/duration_moe \
    --data data/duration_eval --feats dump/duration_eval --json exp/results_duration.json --markdown exp/results_duration.md
  cat exp/results_duration.md
}

run_stage 1 "data: source ($source_corpora) -> data/train, data/dev; target ($target_corpus) -> data/target_adapt, data/target_eval" data_stage
run_stage 2 "features, stats and token list" features_stage
run_stage 3 "aligner training and durations (source sets, target_adapt)" durations_stage
run_stage 4 "source model training -> exp/source" source_stage
run_stage 5 "adaptation ($adapt_rows, $adapt_steps steps each) -> exp/adapt_*" adapt_stage
run_stage 6 "synthesis of target_eval by every row" synth_stage
run_stage 7 "scoring (score tts, score similarity; the real recordings)" score_stage
run_stage 8 "results" results_stage
run_stage 9 "AdaSpeech 3 duration predictors: plain and moe on every speaker -> exp/duration_*, exp/results_duration.md" duration_stage
if [ "$stop_stage" -ge 4 ]; then
  for m in $(model_dirs); do
    [ -d "exp/$m" ] && echo "model directory: $(pwd)/exp/$m"
  done
fi
exit 0
