#!/usr/bin/env bash
# Shared stage script of the non-autoregressive TTS recipes (ESPnet's egs2/TEMPLATE/tts1/tts.sh
# shape): a corpus's run.sh sets its defaults and forwards "$@" here. Run from the recipe folder.
#
#   1 data prep     speechtools data prepare <corpus> -> data/{train,dev,eval}
#   2 features      log-mel / energy / pitch -> dump/<set>, stats.npz (train only), tokens.txt
#   3 durations     aligner training (forward-sum + MAS) -> data/<set>/durations, alignment PNGs
#   4 training      acoustic model (FastSpeech 2 by default) -> exp/<tag>/
#   5 synthesis     the eval set -> exp/<tag>/decode_<eval_set>/ (wav, durations, a few PNGs)
#   6 scoring       MCD (DTW) and log-F0 RMSE vs the real recordings; pocketsphinx WER of the
#                   synthesised and of the real eval recordings (needs the optional extra `asr`)
stage=1                  # first stage to run
stop_stage=6             # last stage to run
corpus=""                # corpus folder; empty = the recipe's bundled mini corpus
data_prep=ljspeech       # speechtools data prepare <data_prep>
train_set=train
dev_set=dev
eval_set=eval
conf=conf/fastspeech2_tiny.yaml        # acoustic model experiment config
aligner_conf=conf/aligner_tiny.yaml    # aligner experiment config
feats_conf=""            # feature YAML (default: $SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml)
frontend=en_phone        # text front-end
tag=""                   # model directory exp/<tag> (default: the config file's name)
max_steps=""             # override trainer.max_steps of the acoustic model
aligner_steps=""         # override trainer.max_steps of the aligner
train_args=""            # extra arguments of speechtools train (e.g. "--set optim.lr=1e-3")
synth_args=""            # extra arguments of speechtools synth (e.g. "--speed 1.1")
nj=2                     # parallel feature-extraction jobs
device=auto              # auto | cpu | cuda[:N]
ngpu=""                # GPUs for training: empty = use --device; 0 = CPU; N > 1 = DDP over N GPUs (torchrun)
seed=1
asr=auto                 # auto: ASR scoring if pocketsphinx is installed; true: required; false: skip
logdir=exp/logs          # per-stage logs (stageN.log)
overwrite=false          # training stages: false = continue a killed run from its checkpoint (refuse a changed config); true = start afresh
help_message="Usage: ./run.sh [options]   (stages: 1 data, 2 features, 3 durations, 4 train, 5 synthesis, 6 scoring)"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
set -euo pipefail
[ -n "$feats_conf" ] || feats_conf="$SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml"
[ -n "$tag" ] || tag=$(basename "$conf" .yaml)
expdir=exp/$tag
aligner_dir=exp/aligner_$(basename "$aligner_conf" .yaml)
decode_dir=$expdir/decode_$eval_set

data_stage() {
  local extra=()
  [ -n "$corpus" ] && extra=(--corpus "$corpus")
  speechtools data prepare "$data_prep" --out data "${extra[@]}"
  for s in "$train_set" "$dev_set" "$eval_set"; do
    speechtools data validate "data/$s"
  done
}

features_stage() {
  local s
  for s in "$train_set" "$dev_set" "$eval_set"; do
    speechtools extract-feats "data/$s" "dump/$s" --conf "$feats_conf" --nj "$nj"
  done
  speechtools compute-stats "dump/$train_set" --out "dump/$train_set/stats.npz"
  # The token list covers every set's text so held-out sentences never hit an unknown phone.
  mkdir -p data/token_text
  cat "data/$train_set/text" "data/$dev_set/text" "data/$eval_set/text" | sort -u > data/token_text/text
  speechtools make-tokens data/token_text --frontend "$frontend" --out data/tokens.txt
  # Phones/pauses the corpus lacks get (untrained) entries, so any sentence can be synthesised.
  if [ "$frontend" = en_phone ]; then
    python -m speechtools.tts.inventory data/tokens.txt "$frontend"
  fi
}

task_sets() {
  echo --set "task_conf.train_data=data/$train_set" --set "task_conf.train_feats=dump/$train_set" \
       --set "task_conf.valid_data=data/$dev_set" --set "task_conf.valid_feats=dump/$dev_set" \
       --set "task_conf.token_list=data/tokens.txt" --set "task_conf.stats=dump/$train_set/stats.npz" \
       --set "task_conf.feats_conf=$feats_conf" --set "task_conf.frontend=$frontend"
}

durations_stage() {
  local extra=() s
  [ -n "$aligner_steps" ] && extra=(--set "trainer.max_steps=$aligner_steps")
  # shellcheck disable=SC2046
  speechtools align train --config "$aligner_conf" --out-dir "$aligner_dir" --device "$device" --quiet $(train_resume_args) \
    $(task_sets) "${extra[@]}"
  for s in "$train_set" "$dev_set" "$eval_set"; do
    speechtools align durations --model-dir "$aligner_dir" --data "data/$s" --feats "dump/$s" \
      --device "$device" --plot-dir "$aligner_dir/plots_$s" --plot-n 2
  done
}

train_stage() {
  local extra=()
  [ -n "$max_steps" ] && extra=(--set "trainer.max_steps=$max_steps")
  # shellcheck disable=SC2046,SC2086
  speechtools train --config "$conf" --out-dir "$expdir" $(train_launch_args) $(train_resume_args) --seed "$seed" --quiet \
    $(task_sets) "${extra[@]}" $train_args
}

synth_stage() {
  rm -rf "$decode_dir"
  # shellcheck disable=SC2086
  speechtools synth --model-dir "$expdir" --text-file "data/$eval_set/text" --ids --out-dir "$decode_dir" \
    --device "$device" --write-durations $synth_args
  speechtools synth --model-dir "$expdir" --text-file <(head -n 2 "data/$eval_set/text") --ids \
    --out-dir "$decode_dir/plots" --device "$device" --plot $synth_args
}

has_pocketsphinx() {
  python -c "import pocketsphinx" 2>/dev/null
}

score_stage() {
  local out=$decode_dir/scoring
  mkdir -p "$out"
  speechtools score tts --ref "data/$eval_set" --hyp "$decode_dir" --feats-conf "$feats_conf" --out-dir "$out"
  if [ "$asr" = false ] || { [ "$asr" = auto ] && ! has_pocketsphinx; }; then
    log "ASR scoring skipped (install the optional extra: pip install 'speechtools[asr]')"
  else
    # The real recordings' transcript does not depend on the model: decode them once per eval set.
    local real=exp/asr_real_$eval_set.txt
    [ -s "$real" ] || speechtools asr decode "data/$eval_set" --out "$real"
    cp "$real" "$out/asr_real.txt"
    speechtools asr decode "$decode_dir" --out "$out/asr_synth.txt"
    speechtools score wer "data/$eval_set/text" "$out/asr_real.txt" --ignore-case --remove-punct | tee "$out/wer_real.txt"
    speechtools score wer "data/$eval_set/text" "$out/asr_synth.txt" --ignore-case --remove-punct | tee "$out/wer_synth.txt"
  fi
  {
    echo "| metric | value |"
    echo "|---|---|"
    sed -n 's/^MCD \([0-9.]*\).*/| MCD (dB, DTW) | \1 |/p; s/^LOGF0_RMSE \([0-9.]*\).*/| log-F0 RMSE | \1 |/p' "$out/summary.txt"
    [ -f "$out/wer_real.txt" ] && sed -n 's/^%WER \([0-9.]*\).*/| ASR WER, real recordings (%) | \1 |/p' "$out/wer_real.txt"
    [ -f "$out/wer_synth.txt" ] && sed -n 's/^%WER \([0-9.]*\).*/| ASR WER, synthesised (%) | \1 |/p' "$out/wer_synth.txt"
  } > "$out/results.md"
  cat "$out/results.md"
}

run_stage 1 "data preparation ($data_prep${corpus:+ from $corpus})" data_stage
run_stage 2 "features, stats and token list" features_stage
run_stage 3 "aligner training and durations" durations_stage
run_stage 4 "acoustic model training -> $expdir" train_stage
run_stage 5 "synthesis of $eval_set" synth_stage
run_stage 6 "scoring" score_stage
if [ "$stop_stage" -ge 4 ]; then
  log "model directory: $(pwd)/$expdir"
  echo "model directory: $(pwd)/$expdir"
fi
