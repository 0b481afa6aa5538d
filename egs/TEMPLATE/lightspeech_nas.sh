#!/usr/bin/env bash
# Shared stage script of LightSpeech's architecture search on a corpus and this CPU: a one-shot supernet
# of the search space, a GBDT-predictor search under a CPU-latency (or parameter) limit measured here,
# the found architecture trained from scratch, synthesised and scored like any LightSpeech. A corpus's
# run.sh sets its defaults and forwards "$@" here. Run from the recipe folder.
#
#   1-3 data, features, durations    as ./tts.sh (data/, dump/, exp/aligner_*)
#   4 supernet training     exp/<supernet tag> (model: lightspeech_supernet, fair path sampling)
#   5 search                <nas_dir> (exp/nas): search.json (every evaluated candidate), best_arch.txt,
#                           lightspeech_nas.yaml (= --conf with the found arch). The limit: --max-latency-ms,
#                           or --max-params, or (neither) the latency of --reference-arch measured here.
#                           --finetune-steps N: each candidate trained N updates from the supernet's
#                           weights before its held-out loss is taken
#   6 training              the found architecture from scratch with --conf's settings -> exp/<tag>
#   7 synthesis, scoring    ./tts.sh stages 5-6 for exp/<tag>
#   8 comparison training   the same --conf for --reference-arch (exp/reference) and the first --random-rows
#                           random candidates of the search (exp/random<N>: random draws that met the same
#                           limit), each from scratch like the found one
#   9 comparison table      every row (found, reference, random, --compare-systems) synthesised with
#                           Griffin-Lim and scored (MCD, log-F0 RMSE, DNSMOS, ASR WER) + `score cost`
#                           (parameters, MACs, RTF at --threads): exp/compare/*, exp/results.{md,json}; the
#                           found row against every other by `score paired`, each row pooled over its
#                           --seed and --extra-seeds runs: exp/paired.{md,json}
stage=1                  # first stage to run
stop_stage=9             # last stage to run
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
budget=200               # candidates the search evaluates with the supernet (half of them random: the predictor's training set)
max_latency_ms=""        # latency limit (ms per sentence, batch 1, --threads threads)
max_params=""            # parameter limit
reference_arch="2 7 4 3 5 6 3 4"   # with neither limit: no slower than this architecture (the authors') here
threads=1                # threads of the latency measurement
latency_sentences=20     # sentences of the dev set (first by id) timed per candidate
repeats=3                # timed passes per candidate (the fastest counts)
finetune_steps=0         # updates of each candidate from the supernet's weights (on --train-set) before its evaluation; 0 = shared weights as they are
objective=loss           # held-out loss term the search minimises: loss (total) | mel_loss | duration_loss | pitch_loss
include_reference=false  # true: the search evaluates --reference-arch first (it may be the answer; never a random row)
search_args=""           # extra arguments of speechtools nas search (e.g. "--per-round 8 --pool 2000")
nas_dir=exp/nas          # search folder (stage 5; stages 6 and 8-9 read it)
tag=lightspeech_nas      # model directory of the found architecture: exp/<tag>
random_rows=3            # stage 8: random candidates of the search trained as comparison rows
compare_systems=""       # stage 9: more trained acoustic models scored beside them, "NAME=MODEL_DIR ..." (e.g. FastSpeech 2 at the same budget)
gl_iters=60              # stage 9: Griffin-Lim iterations of the comparison's synthesis
jobs=1                   # stages 6, 8-9: trainings / scoring jobs at once (each with nproc/jobs threads)
extra_seeds=""           # stages 6, 8, 9: e.g. "2 3": every row trained again with these seeds (exp/<row>_seed<N>); stage 9
                         # pools each row's runs in a paired bootstrap against the found row (exp/paired.{md,json})
feats_conf=""            # feature YAML (default: $SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml)
frontend=en_phone        # text front-end
nj=2                     # parallel feature-extraction jobs
device=auto              # auto | cpu | cuda[:N] (training; the search runs on the CPU)
seed=1
asr=auto                 # auto: ASR scoring if pocketsphinx is installed; true: required; false: skip
overwrite=false          # training stages: false = continue a killed run; true = start afresh
help_message="Usage: ./run.sh [options]   (stages: 1-3 data/features/durations, 4 supernet, 5 search, 6 train the found architecture, 7 synthesis and scoring, 8 train the comparison rows, 9 comparison table)"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
. "$SPEECHTOOLS_ROOT/local/recipe_lib.sh"
set -euo pipefail
logdir=exp/logs
[ -n "$feats_conf" ] || feats_conf="$SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml"
supernet_dir=exp/$(basename "$supernet_conf" .yaml)
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
  local limit=() given=()
  [ "$include_reference" = true ] && given=(--include-arch "$reference_arch")
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
    --train-config "$conf" --finetune-steps "$finetune_steps" --finetune-data "data/$train_set" --finetune-feats "dump/$train_set" \
    --objective "$objective" "${given[@]}" $search_args
}

# train_commands NAME CONF: "job command" pairs training CONF as exp/NAME with --seed, then as exp/NAME_seed<N> per --extra-seeds
train_commands() {
  local name=$1 conf=$2 s
  for s in "" $extra_seeds; do
    printf '%s\n%s\n' "$name${s:+_seed$s}" "$(printf '%q ' "$tts" "${tts_args[@]}" --stage 4 --stop-stage 4 --logdir "$logdir/$name${s:+_seed$s}" \
      --conf "$conf" --tag "$name${s:+_seed$s}" ${s:+--seed "$s"} ${max_steps:+--max-steps "$max_steps"})"
  done
}

train_stage() {
  local cmds=()
  mapfile -t cmds < <(train_commands "$tag" "$nas_dir/lightspeech_nas.yaml")
  run_jobs "${cmds[@]}"
}

score_stage() {
  "$tts" "${tts_args[@]}" --stage 5 --stop-stage 6 --logdir "$logdir/$tag" --conf "$nas_dir/lightspeech_nas.yaml" --tag "$tag"
}

# comparison_rows: "NAME ARCH" lines of stage 8: the reference, then the first --random-rows random
# candidates of the search (in draw order; neither the found nor the reference architecture).
comparison_rows() {
  python - "$nas_dir/search.json" "$random_rows" "$reference_arch" <<'PY'
import json, sys
from speechtools.nn.search_space import canonical_arch
log = json.load(open(sys.argv[1], encoding="utf-8"))
skip = {canonical_arch(log["summary"]["best_arch"]), canonical_arch(sys.argv[3])}
rows = [e["arch"] for e in sorted(log["evaluated"], key=lambda e: e["index"]) if e["source"] == "random" and canonical_arch(e["arch"]) not in skip]
print("reference", canonical_arch(sys.argv[3]))
want = int(sys.argv[2])
if len(rows) < want:
    sys.exit(f"{sys.argv[1]}: {len(rows)} random candidates besides the found one, --random-rows {want}")
for i, arch in enumerate(rows[:want], 1):
    print(f"random{i} {arch}")
PY
}

compare_train_stage() {
  local dir=$nas_dir/compare name arch cmds=() rows
  mkdir -p "$dir"
  rows=$(comparison_rows)
  while read -r name arch; do
    # the found architecture's config (--conf's training, the supernet's widths) with this arch
    printf 'base: ../lightspeech_nas.yaml\nmodel_conf:\n  arch: "%s"\n' "$arch" > "$dir/$name.yaml"
    mapfile -t -O "${#cmds[@]}" cmds < <(train_commands "$name" "$dir/$name.yaml")
  done <<< "$rows"
  run_jobs "${cmds[@]}"
}

compare_score_stage() {
  local systems=("$tag=exp/$tag") s name model dir reports=() costs=() versus=() jobs_cmds=() runs=() seed trained=" $tag "
  for name in $(comparison_rows | cut -d' ' -f1); do systems+=("$name=exp/$name"); trained+="$name "; done
  for s in $compare_systems; do systems+=("$s"); done
  for s in "${systems[@]}"; do
    name=${s%%=*} model=${s#*=}
    # one job per run (--jobs at once): Griffin-Lim synthesis of the eval prompts, then score tts (a run
    # scored already by the same command, after its model.pt was written, is not scored again); the
    # --extra-seeds runs of the found and comparison rows too (not of --compare-systems)
    for seed in "" $extra_seeds; do
      [ -z "$seed" ] || [[ $trained == *" $name "* ]] || continue
      dir=exp/compare/$name${seed:+_seed$seed}
      jobs_cmds+=("score_$name${seed:+_seed$seed}" "$(gl_score_command "$model${seed:+_seed$seed}" "$dir/decode_$eval_set" "$dir/scoring" "$dir/scores.json")")
      runs+=(--system "$name=$dir/scores.json")
    done
    dir=exp/compare/$name
    reports+=(--system "$name=$dir/scores.json" --system "$name=exp/compare/cost/$name.json")
    costs+=(--system "$s")
    [ "$name" = "$tag" ] || versus+=(--versus "$tag,$name")
  done
  run_jobs "${jobs_cmds[@]}"
  local asr_metric=()
  [ -n "$(asr_flag)" ] && asr_metric=(--metric asr_wer)
  speechtools score paired "${runs[@]}" "${versus[@]}" --metric mcd_db --metric p808_mos --metric ovrl_mos "${asr_metric[@]}" \
    --ref "data/$eval_set" --out exp/paired.md --json exp/paired.json
  speechtools score cost "${costs[@]}" --data "data/$eval_set" --feats "dump/$eval_set" --threads "$threads" \
    --sentences "$latency_sentences" --repeats "$repeats" --out-dir exp/compare/cost
  speechtools score compare "${reports[@]}" "${versus[@]}" --metric params_m --metric gmacs --metric rtf --metric mcd_db \
    --metric log_f0_rmse --metric p808_mos --metric ovrl_mos --metric asr_wer \
    --title "The found architecture ($(cat "$nas_dir/best_arch.txt")) beside the comparison rows ($eval_set; RTF at $threads thread(s), mel generation only)" \
    --out exp/results.md --json exp/results.json
}

data_stop=$((stop_stage < 3 ? stop_stage : 3))
if [ "$stage" -le "$data_stop" ]; then
  run_stage "$stage" "data, features and durations (./tts.sh stages $stage-$data_stop)" data_stages
fi
run_stage 4 "supernet training -> $supernet_dir" supernet_stage
run_stage 5 "architecture search -> $nas_dir" search_stage
run_stage 6 "training the found architecture -> exp/$tag" train_stage
run_stage 7 "synthesis and scoring of exp/$tag" score_stage
run_stage 8 "training the comparison rows (reference and $random_rows random architectures)" compare_train_stage
run_stage 9 "comparison table -> exp/results.md" compare_score_stage
