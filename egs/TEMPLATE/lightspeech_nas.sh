#!/usr/bin/env bash
# Shared stage script of LightSpeech's architecture search on a corpus and this CPU: a one-shot supernet
# of the search space, a GBDT-predictor search under a CPU-latency (or parameter) limit measured here,
# the found architecture trained from scratch, synthesised and scored like any LightSpeech. A corpus's
# run.sh sets its defaults and forwards "$@" here. Run from the recipe folder.
#
#   1-3 data, features, durations    as ./tts.sh (data/, dump/, exp/aligner_*)
#   4 supernet training     exp/<supernet tag> (model: lightspeech_supernet, fair path sampling)
#   5 search                exp/nas: search.json (every evaluated candidate), best_arch.txt,
#                           lightspeech_nas.yaml (= --conf with the found arch). The limit: --max-latency-ms,
#                           or --max-params, or (neither) the latency of --reference-arch measured here
#   6 training              the found architecture from scratch with --conf's settings -> exp/<tag>
#   7 synthesis, scoring    ./tts.sh stages 5-6 for exp/<tag>
stage=1                  # first stage to run
stop_stage=7             # last stage to run
corpus=""                # corpus folder; empty = the recipe's bundled mini corpus
data_prep=ljspeech       # speechtools data prepare <data_prep>
train_set=train
dev_set=dev              # held-out set the search evaluates candidates on and times sentences of
eval_set=eval
aligner_conf=conf/aligner_tiny.yaml         # aligner experiment config (stage 3)
supernet_conf=conf/supernet_tiny.yaml       # supernet experiment config (stage 4)
conf=conf/lightspeech_tiny.yaml             # training settings of the found architecture (stage 6; its model = the supernet's widths + the arch)
aligner_steps=""         # override trainer.max_steps of the aligner
supernet_steps=""        # override trainer.max_steps of the supernet
max_steps=""             # override trainer.max_steps of the found architecture's training
budget=40                # candidates the search evaluates with the supernet
max_latency_ms=""        # latency limit (ms per sentence, batch 1, --threads threads)
max_params=""            # parameter limit
reference_arch="2 7 4 3 5 6 3 4"   # with neither limit: no slower than this architecture (the authors') here
threads=1                # threads of the latency measurement
latency_sentences=20     # sentences of the dev set (first by id) timed per candidate
repeats=3                # timed passes per candidate (the fastest counts)
search_args=""           # extra arguments of speechtools nas search (e.g. "--per-round 8 --pool 2000")
tag=lightspeech_nas      # model directory of the found architecture: exp/<tag>
feats_conf=""            # feature YAML (default: $SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml)
frontend=en_phone        # text front-end
nj=2                     # parallel feature-extraction jobs
device=auto              # auto | cpu | cuda[:N] (training; the search runs on the CPU)
seed=1
asr=auto                 # auto: ASR scoring if pocketsphinx is installed; true: required; false: skip
overwrite=false          # training stages: false = continue a killed run; true = start afresh
help_message="Usage: ./run.sh [options]   (stages: 1-3 data/features/durations, 4 supernet, 5 search, 6 train the found architecture, 7 synthesis and scoring)"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
set -euo pipefail
logdir=exp/logs
[ -n "$feats_conf" ] || feats_conf="$SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml"
supernet_dir=exp/$(basename "$supernet_conf" .yaml)
nas_dir=exp/nas
tts=../../TEMPLATE/tts.sh
tts_args=(--data-prep "$data_prep" --train-set "$train_set" --dev-set "$dev_set" --eval-set "$eval_set"
          --aligner-conf "$aligner_conf" --feats-conf "$feats_conf" --frontend "$frontend" --nj "$nj"
          --device "$device" --seed "$seed" --asr "$asr" --overwrite "$overwrite")
[ -n "$corpus" ] && tts_args+=(--corpus "$corpus")
[ -n "$aligner_steps" ] && tts_args+=(--aligner-steps "$aligner_steps")

data_stages() {
  "$tts" "${tts_args[@]}" --stage "$stage" --stop-stage "$data_stop" --logdir "$logdir/tts"
}

supernet_stage() {
  local extra=()
  [ -n "$supernet_steps" ] && extra=(--max-steps "$supernet_steps")
  "$tts" "${tts_args[@]}" --stage 4 --stop-stage 4 --logdir "$logdir/supernet" --conf "$supernet_conf" "${extra[@]}"
}

search_stage() {
  local limit=()
  [ -n "$max_latency_ms" ] && limit+=(--max-latency-ms "$max_latency_ms")
  [ -n "$max_params" ] && limit+=(--max-params "$max_params")
  local held=(--supernet "$supernet_dir" --data "data/$dev_set" --feats "dump/$dev_set" --threads "$threads"
              --latency-sentences "$latency_sentences" --repeats "$repeats")
  mkdir -p "$nas_dir"
  if [ ${#limit[@]} -eq 0 ]; then
    # The reference architecture's latency on this CPU, timed as every candidate is, into the search's
    # cache: the search reads the same number for it, so the reference itself meets the limit.
    speechtools nas cost "${held[@]}" --arch "$reference_arch" --latency-cache "$nas_dir/latency_cache.json" \
      | tee "$nas_dir/reference_cost.tsv"
    limit=(--max-latency-ms "$(cut -f4 "$nas_dir/reference_cost.tsv")")
  fi
  # shellcheck disable=SC2086
  speechtools nas search "${held[@]}" --out-dir "$nas_dir" --budget "$budget" "${limit[@]}" --seed "$seed" \
    --train-config "$conf" $search_args
}

train_stage() {
  local extra=()
  [ -n "$max_steps" ] && extra=(--max-steps "$max_steps")
  "$tts" "${tts_args[@]}" --stage 4 --stop-stage 4 --logdir "$logdir/$tag" --conf "$nas_dir/lightspeech_nas.yaml" --tag "$tag" "${extra[@]}"
}

score_stage() {
  "$tts" "${tts_args[@]}" --stage 5 --stop-stage 6 --logdir "$logdir/$tag" --conf "$nas_dir/lightspeech_nas.yaml" --tag "$tag"
}

data_stop=$((stop_stage < 3 ? stop_stage : 3))
if [ "$stage" -le "$data_stop" ]; then
  run_stage "$stage" "data, features and durations (./tts.sh stages $stage-$data_stop)" data_stages
fi
run_stage 4 "supernet training -> $supernet_dir" supernet_stage
run_stage 5 "architecture search -> $nas_dir" search_stage
run_stage 6 "training the found architecture -> exp/$tag" train_stage
run_stage 7 "synthesis and scoring of exp/$tag" score_stage
