#!/usr/bin/env bash
# Helpers shared by the multi-model recipes (egs/TEMPLATE/priorgrad.sh, egs/TEMPLATE/adaspeech.sh).
# Source after stage.sh.
#
# Variables it reads (declare them as recipe options):
#   jobs     trainings run at once (run_jobs)
#   logdir   where run_jobs writes NAME.log
#   asr      auto | true | false (asr_flag)
#   eval_set, device, gl_iters, feats_conf   (gl_score_command)
#
# Functions:
#   run_jobs NAME CMD [NAME CMD ...]   each CMD (a command line) in the background, at most $jobs at
#                                      once, each with nproc/jobs threads and its log in
#                                      $logdir/NAME.log; fails if any fails
#   asr_flag                           "--asr" for the score commands, or nothing when ASR scoring is
#                                      off (asr=false, or asr=auto without pocketsphinx)
#   gl_score_command MODEL DECODE SCORING JSON
#                                      one command line (for run_jobs or eval): Griffin-Lim synthesis
#                                      of data/$eval_set's text by MODEL into DECODE, scored by
#                                      `score tts --dnsmos` (+ asr_flag) into SCORING and JSON; a
#                                      no-op when JSON is newer than MODEL/model.pt and was made by
#                                      the same command (JSON.command holds its hash)

run_jobs() {
  local threads pids=() names=() i rc=0
  threads=$(( $(nproc) / jobs )); [ "$threads" -ge 1 ] || threads=1
  while [ $# -ge 2 ]; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || rc=1; done
    log "start $1 (log: $logdir/$1.log)"
    OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE bash -c "$2" > "$logdir/$1.log" 2>&1 &
    pids+=($!); names+=("$1")
    shift 2
  done
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then log "done ${names[$i]}"; else log "failed ${names[$i]} (see $logdir/${names[$i]}.log)"; rc=1; fi
  done
  return $rc
}

asr_flag() {
  if [ "$asr" = false ] || { [ "$asr" = auto ] && ! python -c "import pocketsphinx" 2>/dev/null; }; then
    return 0
  fi
  echo --asr
}

gl_score_command() {
  local model=$1 decode=$2 scoring=$3 json=$4 cmd key
  # shellcheck disable=SC2046
  cmd="$(printf '%q ' speechtools synth --model-dir "$model" --text-file "data/$eval_set/text" --ids --out-dir "$decode" \
    --device "$device" --vocoder-set "n_iter=$gl_iters") && $(printf '%q ' speechtools score tts --ref "data/$eval_set" \
    --hyp "$decode" --feats-conf "$feats_conf" --dnsmos $(asr_flag) --out-dir "$scoring" --json "$json")"
  key=$(printf '%s' "$cmd" | md5sum | cut -c1-32)
  if [ "$json" -nt "$model/model.pt" ] && [ "$(cat "$json.command" 2>/dev/null)" = "$key" ]; then
    printf 'echo %q\n' "$json: scored already by the same command"
  else
    printf '%s && echo %s > %q\n' "$cmd" "$key" "$json.command"
  fi
}
