#!/usr/bin/env bash
# Helpers shared by the multi-model recipes (egs/TEMPLATE/priorgrad.sh, egs/TEMPLATE/adaspeech.sh).
# Source after stage.sh.
#
# Variables it reads (declare them as recipe options):
#   jobs     trainings run at once (run_jobs)
#   logdir   where run_jobs writes NAME.log
#   asr      auto | true | false (asr_flag)
#
# Functions:
#   run_jobs NAME CMD [NAME CMD ...]   each CMD (a command line) in the background, at most $jobs at
#                                      once, each with nproc/jobs threads and its log in
#                                      $logdir/NAME.log; fails if any fails
#   asr_flag                           "--asr" for the score commands, or nothing when ASR scoring is
#                                      off (asr=false, or asr=auto without pocketsphinx)

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
