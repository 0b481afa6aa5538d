#!/usr/bin/env bash
# FastSpeech on LJSpeech (Ren et al. 2019): data prep -> features/stats -> Transformer TTS teacher
# -> durations from the teacher's attention (-> optional sequence-level distillation) ->
# FastSpeech -> synthesis of the eval set -> scoring. Stages 1, 2, 4, 5, 6 are those of
# ../../TEMPLATE/tts.sh (options there); stage 3 here replaces its aligner by the teacher.
#
#   1 data prep     speechtools data prepare ljspeech
#   2 features      log-mel/pitch/energy, stats.npz, tokens.txt
#   3 teacher       speechtools train (task tts_ar, Transformer TTS) -> exp/teacher_<conf>/;
#                   speechtools teacher durations on train/dev (teacher forcing on real mels);
#                   with --kd true: speechtools teacher distill -> data/<train>_kd, dump/<train>_kd
#   4 training      FastSpeech on <train> (or <train>_kd) -> exp/<tag>/
#   5 synthesis     the eval set
#   6 scoring       MCD, log-F0 RMSE, pocketsphinx WER (synthesised vs real)
#
#   ./run.sh                                               # bundled 32-clip mini corpus, tiny configs
#   ./run.sh --kd true                                     # distil the teacher's generated mels
#   ./run.sh --corpus /data/LJSpeech-1.1 --conf conf/fastspeech.yaml --teacher-conf conf/transformer_tts.yaml
stage=1                  # first stage to run
stop_stage=6             # last stage to run
corpus=""                # corpus folder; empty = the bundled mini corpus
data_prep=ljspeech
train_set=train
dev_set=dev
eval_set=eval
conf=conf/fastspeech_tiny.yaml              # FastSpeech experiment config
teacher_conf=conf/transformer_tts_tiny.yaml # Transformer TTS teacher experiment config
kd=false                 # true: train FastSpeech on the teacher's generated mels (sequence-level KD)
min_focus_rate=0.65      # KD: drop utterances whose teacher focus rate is lower (ESPnet's filter)
kd_args=""               # extra arguments of speechtools teacher distill (e.g. "--max-ratio 4")
teacher_steps=""         # override trainer.max_steps of the teacher
max_steps=""             # override trainer.max_steps of FastSpeech
feats_conf=""            # feature YAML (default: $SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml)
frontend=en_phone
tag=""                   # model directory exp/<tag> (default: the config file's name)
nj=2
device=auto
ngpu=""                # GPUs for training: empty = use --device; 0 = CPU; N > 1 = DDP over N GPUs (torchrun)
seed=1
asr=auto                 # pocketsphinx scoring: auto | true | false
overwrite=false          # training stages: false = continue a killed run from its checkpoint (refuse a changed config); true = start afresh
help_message="Usage: ./run.sh [options]   (stages: 1 data, 2 features, 3 teacher + durations, 4 train, 5 synthesis, 6 scoring)"
cd "$(dirname "$0")"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
set -euo pipefail
logdir=exp/logs
[ -n "$feats_conf" ] || feats_conf="$SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml"
teacher_dir=exp/teacher_$(basename "$teacher_conf" .yaml)
student_train=$train_set
[ "$kd" = true ] && student_train=${train_set}_kd

template() {
  ../../TEMPLATE/tts.sh --data-prep "$data_prep" --train-set "$train_set" --dev-set "$dev_set" --eval-set "$eval_set" \
    --conf "$conf" --feats-conf "$feats_conf" --frontend "$frontend" --nj "$nj" --device "$device" --seed "$seed" \
    --asr "$asr" --overwrite "$overwrite" ${ngpu:+--ngpu "$ngpu"} ${tag:+--tag "$tag"} ${corpus:+--corpus "$corpus"} "$@"
}

teacher_stage() {
  local extra=() s
  [ -n "$teacher_steps" ] && extra=(--set "trainer.max_steps=$teacher_steps")
  speechtools train --config "$teacher_conf" --out-dir "$teacher_dir" $(train_launch_args) $(train_resume_args) --seed "$seed" --quiet \
    --set "task_conf.train_data=data/$train_set" --set "task_conf.train_feats=dump/$train_set" \
    --set "task_conf.valid_data=data/$dev_set" --set "task_conf.valid_feats=dump/$dev_set" \
    --set "task_conf.token_list=data/tokens.txt" --set "task_conf.stats=dump/$train_set/stats.npz" \
    --set "task_conf.feats_conf=$feats_conf" --set "task_conf.frontend=$frontend" "${extra[@]}"
  for s in "$train_set" "$dev_set"; do
    speechtools teacher durations --model-dir "$teacher_dir" --data "data/$s" --feats "dump/$s" --device "$device" \
      --plot-dir "$teacher_dir/attention_$s" --plot-n 2
  done
  if [ "$kd" = true ]; then
    rm -rf "data/$student_train" "dump/$student_train"
    # shellcheck disable=SC2086
    speechtools teacher distill --model-dir "$teacher_dir" --data "data/$train_set" --feats "dump/$train_set" \
      --out-data "data/$student_train" --out-feats "dump/$student_train" --min-focus-rate "$min_focus_rate" \
      --device "$device" --plot-dir "$teacher_dir/attention_kd" --plot-n 2 $kd_args
  fi
}

first=$stage; last=$stop_stage
if [ "$first" -le 2 ] && [ "$last" -ge 1 ]; then
  template --stage "$((first > 1 ? first : 1))" --stop-stage "$((last < 2 ? last : 2))"
fi
run_stage 3 "Transformer TTS teacher -> $teacher_dir, attention durations${kd:+ (kd=$kd)}" teacher_stage
if [ "$last" -ge 4 ]; then
  template --stage "$((first > 4 ? first : 4))" --stop-stage "$last" --train-set "$student_train" \
    ${max_steps:+--max-steps "$max_steps"}
fi
