#!/usr/bin/env bash
# Shared stage script of the LRSpeech recipes (Xu et al., KDD 2020; issue 21): a TTS model and a
# recogniser built together for a voice with ~50 paired sentences, by (a) nothing but those pairs,
# (b) pre-training on other speakers' paired data then fine-tuning, (c) dual transformation, (d)
# knowledge distillation with the attention filter, against (e) the ceiling of every target pair
# transcribed. Every row is evaluated on the same held-out prompts: the TTS by the intelligibility
# rate (pocketsphinx as the listener) and MCD, the recogniser by WER. A recipe's run.sh sets its
# defaults and forwards "$@" here; its local/data.sh writes the data directories below.
#
#   1 data          local/data.sh $corpus_args -> data/target (the ~50 target pairs), data/lowq (other
#                   speakers' paired data), data/unpaired_speech (target voice, no text),
#                   data/unpaired_text/text, data/target_all (every target training pair: the ceiling),
#                   data/dev, data/test
#   2 features      log-mels of every set with audio (dump/<set>; dump/target_all indexes target's and
#                   unpaired_speech's, whose union data/target_all must be), dump/pretrain = lowq + target
#                   (combine-feats) and its stats.npz (every model's normalisation), the TTS token list
#                   (--frontend) and the recogniser's units over every text
#   3 (a) baseline  TTS (--tts-conf, Transformer TTS: attention) and recogniser (--asr-conf) on data/target
#                   -> exp/a_tts, exp/a_asr
#   4 (b) pretrain  both on data/pretrain (-> exp/b_tts_pre, exp/b_asr_pre), then fine-tuned on
#                   data/target from those weights (trainer.init_from) -> exp/b_tts, exp/b_asr
#   5 (c) dual      --dt-iterations K times, from (b): the recogniser transcribes data/unpaired_speech
#                   (pseudo-pairs transcribe -> data/dt<k>_speech), the TTS speaks data/unpaired_text
#                   (pseudo-pairs speak -> data/dt<k>_text, dump/dt<k>_text), then each model continues
#                   on the target pairs plus the other's pseudo-pairs -> exp/c<k>_tts, exp/c<k>_asr;
#                   transcribing and speaking run side by side with --jobs 2 (logs: exp/logs/dt<k>_*.log)
#   6 (d) distill   the last dual models are the teachers: the TTS speaks the unpaired text keeping
#                   sentences with WCR >= --min-wcr and ADR >= --min-adr (data/kd_text: its mels and
#                   attention durations), the recogniser transcribes the unpaired speech (data/kd_speech);
#                   students from scratch: a FastSpeech TTS (--student-conf) on data/kd_text -> exp/d_tts,
#                   a recogniser on target + kd_speech + kd_text -> exp/d_asr (speaking and transcribing
#                   side by side with --jobs 2, logs exp/logs/kd_{speak,transcribe}.log)
#   7 (e) ceiling   (b)'s pre-trained models fine-tuned on data/target_all -> exp/e_tts, exp/e_asr
#   8 evaluation    each row's TTS speaks data/test's prompts (exp/<row>_tts/decode_test: score tts with
#                   --asr: MCD, pocketsphinx WER and IR), the real recordings scored the same way (with
#                   --asr), each row's recogniser decodes data/test (exp/<row>_asr/decode_test/{wer,cer}.txt);
#                   the rows run as --jobs parallel jobs (logs: exp/logs/eval_<row>.log)
#   9 results       exp/results.{md,json}: per row IR, MCD, WER and CER, the budget of each stage, the targets
stage=1                  # first stage to run
stop_stage=9             # last stage to run
corpus_args=""           # arguments of local/data.sh
tts_conf=""              # TTS config (default: $SPEECHTOOLS_ROOT/conf/tts/transformer_tts_tiny.yaml)
student_conf=""          # distilled TTS student (default: $SPEECHTOOLS_ROOT/conf/tts/fastspeech_tiny.yaml)
asr_conf=""              # recogniser config (default: $SPEECHTOOLS_ROOT/conf/asr/ctc_attention_small.yaml)
feats_conf=""            # feature YAML of every model (default: $SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml)
frontend=en_phone        # TTS text front-end
units=en_char            # recogniser output units
steps_pretrain=""        # trainer.max_steps of the pre-training (b) (default: the configs')
steps_finetune=""        # of the 50-pair models (a), the fine-tuning (b) and the ceiling (e)
steps_dt=""              # of each dual-transformation iteration (c)
steps_kd=""              # of the distilled students (d)
dt_iterations=2          # dual-transformation iterations K
transcribe_args=""       # search options of every pseudo-pairs transcribe (as asr decode: --beam-size 4 --ctc-weight 0.3)
min_wcr=0.7              # distillation filter: word coverage ratio
min_adr=0.7              # distillation filter: attention diagonal ratio
gl_iters=32              # Griffin-Lim iterations of every synthesis
asr=auto                 # pocketsphinx IR/WER of the TTS: auto = if installed; true; false
jobs=1                   # trainings (and pseudo-labelling runs) at once, each with nproc/jobs threads
nj=2                     # parallel feature-extraction and decoding jobs
device=auto              # auto | cpu | cuda[:N]
seed=1
overwrite=false          # training stages: false = continue a killed run; true = start afresh
help_message="Usage: ./run.sh [options]   (stages: 1 data, 2 features, 3 baseline, 4 pre-training, 5 dual transformation, 6 distillation, 7 ceiling, 8 evaluation, 9 results)"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
. "$SPEECHTOOLS_ROOT/local/recipe_lib.sh"   # run_jobs, asr_flag
set -euo pipefail
logdir=exp/logs
[ -n "$tts_conf" ] || tts_conf="$SPEECHTOOLS_ROOT/conf/tts/transformer_tts_tiny.yaml"
[ -n "$student_conf" ] || student_conf="$SPEECHTOOLS_ROOT/conf/tts/fastspeech_tiny.yaml"
[ -n "$asr_conf" ] || asr_conf="$SPEECHTOOLS_ROOT/conf/asr/ctc_attention_small.yaml"
[ -n "$feats_conf" ] || feats_conf="$SPEECHTOOLS_ROOT/conf/feats/mel22k.yaml"
audio_sets="target lowq unpaired_speech dev test"   # features extracted; target_all's are these two's
last_dt=c$dt_iterations
rows="a b $last_dt d e"

steps_of() { [ -n "$1" ] && echo "--set trainer.max_steps=$1" || true; }

# train_cmd KIND NAME DATA STEPS [INIT]: the speechtools train command line of one model
# (KIND tts|asr|student) on data/DATA with dump/DATA, validated on data/dev.
train_cmd() {
  local kind=$1 name=$2 set=$3 steps=$4 init=${5:-} conf tokens
  case $kind in
    tts) conf=$tts_conf; tokens=data/tokens_tts.txt ;;
    student) conf=$student_conf; tokens=data/tokens_tts.txt ;;
    asr) conf=$asr_conf; tokens=data/tokens_asr.txt ;;
  esac
  local units_arg="" valid_args="--set task_conf.valid_data=data/dev --set task_conf.valid_feats=dump/dev"
  [ "$kind" = asr ] && units_arg="--set task_conf.units=$units"
  [ "$kind" = student ] && valid_args=""   # FastSpeech validates on durations, which data/dev has not
  echo "speechtools train --config $conf --out-dir exp/$name $(train_resume_args) --device $device --seed $seed --quiet" \
    "--set task_conf.train_data=data/$set --set task_conf.train_feats=dump/$set $valid_args --set task_conf.token_list=$tokens" \
    "--set task_conf.stats=dump/pretrain/stats.npz --set task_conf.feats_conf=$feats_conf $units_arg $(steps_of "$steps")" \
    "$([ -n "$init" ] && echo "--set trainer.init_from.path=exp/$init")"
}

# combined DST SRC...: data/DST and dump/DST as the union of the sources (mel features)
combined() {
  local dst=$1; shift
  local d dumps=()
  for d in "$@"; do dumps+=("dump/$d"); done
  speechtools data combine "data/$dst" "${@/#/data/}"
  speechtools combine-feats "dump/$dst" "${dumps[@]}" --features mel
}

data_stage() {
  local s
  local/data.sh --out data $corpus_args
  for s in $audio_sets target_all; do speechtools data validate "data/$s"; done
  if ! cmp -s <(cut -d' ' -f1 data/target_all/wav.scp) <(cut -d' ' -f1 data/target/wav.scp data/unpaired_speech/wav.scp | sort); then
    echo "error: data/target_all must hold exactly the clips of data/target and data/unpaired_speech (the ceiling: every target pair transcribed)" >&2
    return 1
  fi
  [ -s data/unpaired_text/text ] || { echo "error: local/data.sh wrote no data/unpaired_text/text" >&2; return 1; }
  [ ! -e data/unpaired_speech/text ] || { echo "error: data/unpaired_speech must not have a text file" >&2; return 1; }
}

features_stage() {
  local s
  for s in $audio_sets; do
    speechtools extract-feats "data/$s" "dump/$s" --conf "$feats_conf" --features mel --nj "$nj"
  done
  rm -rf data/pretrain dump/pretrain data/all_text dump/target_all
  speechtools combine-feats dump/target_all dump/target dump/unpaired_speech --features mel   # no second extraction
  combined pretrain lowq target
  speechtools compute-stats dump/pretrain --out dump/pretrain/stats.npz
  mkdir -p data/all_text   # every text a model reads: the token lists cover them all
  cat data/pretrain/text data/target_all/text data/unpaired_text/text data/dev/text data/test/text | sort -u -k1,1 > data/all_text/text
  speechtools make-tokens data/all_text --frontend "$frontend" --with-inventory --out data/tokens_tts.txt  # pseudo-labels may hold any unit
  speechtools make-tokens data/all_text --units "$units" --with-inventory --out data/tokens_asr.txt
}

baseline_stage() {
  run_jobs a_tts "$(train_cmd tts a_tts target "$steps_finetune")" a_asr "$(train_cmd asr a_asr target "$steps_finetune")"
}

pretrain_stage() {
  run_jobs b_tts_pre "$(train_cmd tts b_tts_pre pretrain "$steps_pretrain")" b_asr_pre "$(train_cmd asr b_asr_pre pretrain "$steps_pretrain")"
  run_jobs b_tts "$(train_cmd tts b_tts target "$steps_finetune" b_tts_pre)" b_asr "$(train_cmd asr b_asr target "$steps_finetune" b_asr_pre)"
}

# transcribe_cmd MODEL OUT: the recogniser exp/MODEL transcribes the unpaired speech into data/OUT
transcribe_cmd() {
  # shellcheck disable=SC2086
  printf '%q ' speechtools pseudo-pairs transcribe data/unpaired_speech --asr-model "exp/$1" --out-data "data/$2" \
    --device "$device" --nj "$nj" $transcribe_args
}

# speak_cmd MODEL OUT [OPTION...]: the TTS model exp/MODEL speaks the unpaired text into data/OUT, dump/OUT
speak_cmd() {
  printf '%q ' speechtools pseudo-pairs speak --tts-model "exp/$1" --text data/unpaired_text/text --out-data "data/$2" \
    --out-feats "dump/$2" --vocoder-set "n_iter=$gl_iters" --device "$device" "${@:3}"
}

dual_stage() {
  local k prev=b
  for k in $(seq 1 "$dt_iterations"); do
    log "dual transformation iteration $k of $dt_iterations, from exp/${prev}_tts and exp/${prev}_asr"
    run_jobs "dt${k}_transcribe" "$(transcribe_cmd "${prev}_asr" "dt${k}_speech")" \
      "dt${k}_speak" "$(speak_cmd "${prev}_tts" "dt${k}_text")"
    rm -rf "data/dt${k}_tts_train" "dump/dt${k}_tts_train" "data/dt${k}_asr_train" "dump/dt${k}_asr_train"
    speechtools data combine "data/dt${k}_tts_train" data/target "data/dt${k}_speech"
    speechtools combine-feats "dump/dt${k}_tts_train" dump/target dump/unpaired_speech --features mel
    combined "dt${k}_asr_train" target "dt${k}_text"
    run_jobs "c${k}_tts" "$(train_cmd tts "c${k}_tts" "dt${k}_tts_train" "$steps_dt" "${prev}_tts")" \
      "c${k}_asr" "$(train_cmd asr "c${k}_asr" "dt${k}_asr_train" "$steps_dt" "${prev}_asr")"
    prev=c$k
  done
}

distill_stage() {
  run_jobs kd_speak "$(speak_cmd "${last_dt}_tts" kd_text --min-wcr "$min_wcr" --min-adr "$min_adr" \
    --attention-dir "exp/${last_dt}_tts/kd_attention")" \
    kd_transcribe "$(transcribe_cmd "${last_dt}_asr" kd_speech)"
  rm -rf data/kd_asr_train dump/kd_asr_train
  speechtools data combine data/kd_asr_train data/target data/kd_speech data/kd_text
  speechtools combine-feats dump/kd_asr_train dump/target dump/unpaired_speech dump/kd_text --features mel
  run_jobs d_tts "$(train_cmd student d_tts kd_text "$steps_kd")" d_asr "$(train_cmd asr d_asr kd_asr_train "$steps_kd")"
}

ceiling_stage() {
  run_jobs e_tts "$(train_cmd tts e_tts target_all "$steps_finetune" b_tts_pre)" e_asr "$(train_cmd asr e_asr target_all "$steps_finetune" b_asr_pre)"
}

# eval_cmd ROW: synthesis and scoring of the row's TTS, decoding and scoring of its recogniser (one job)
eval_cmd() {
  local row=$1
  echo "speechtools synth --model-dir exp/${row}_tts --text-file data/test/text --ids --out-dir exp/${row}_tts/decode_test" \
    "--vocoder-set n_iter=$gl_iters --device $device" \
    "&& speechtools score tts --ref data/test --hyp exp/${row}_tts/decode_test --feats-conf $feats_conf $(asr_flag)" \
    "--json exp/${row}_tts/decode_test/scores.json" \
    "&& mkdir -p exp/${row}_asr/decode_test" \
    "&& speechtools asr decode data/test --model-dir exp/${row}_asr --out exp/${row}_asr/decode_test/text --device $device" \
    "&& speechtools score wer data/test/text exp/${row}_asr/decode_test/text --ignore-case --remove-punct" \
    "> exp/${row}_asr/decode_test/wer.txt" \
    "&& speechtools score wer data/test/text exp/${row}_asr/decode_test/text --ignore-case --remove-punct --cer" \
    "> exp/${row}_asr/decode_test/cer.txt"
}

evaluation_stage() {
  local row args=()
  for row in $rows; do args+=("eval_$row" "$(eval_cmd "$row")"); done
  if [ -n "$(asr_flag)" ]; then  # the listener's own figures on the real recordings
    mkdir -p exp/real
    args+=(eval_real "speechtools score tts --ref data/test --hyp data/test --feats-conf $feats_conf --asr --json exp/real/scores.json")
  fi
  run_jobs "${args[@]}"
  for row in $rows; do echo "$row: $(head -1 "exp/${row}_asr/decode_test/wer.txt")"; done
}

results_stage() {
  python "$SPEECHTOOLS_ROOT/local/lrspeech_results.py" --exp exp --rows "$rows" --out exp/results
}

run_stage 1 "data preparation (local/data.sh $corpus_args)" data_stage
run_stage 2 "features, stats and token lists" features_stage
run_stage 3 "(a) TTS and recogniser on the target pairs only" baseline_stage
run_stage 4 "(b) pre-training on the other speakers' pairs, fine-tuning on the target pairs" pretrain_stage
run_stage 5 "(c) dual transformation, $dt_iterations iteration(s)" dual_stage
run_stage 6 "(d) knowledge distillation (WCR >= $min_wcr, ADR >= $min_adr)" distill_stage
run_stage 7 "(e) ceiling: every target training pair" ceiling_stage
run_stage 8 "evaluation on data/test" evaluation_stage
run_stage 9 "results -> exp/results.md" results_stage
if [ "$stop_stage" -ge 9 ]; then
  for row in $rows; do echo "model directories: $PWD/exp/${row}_tts $PWD/exp/${row}_asr"; done
fi
