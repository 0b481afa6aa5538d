#!/usr/bin/env bash
# Stage guards and per-stage logs for recipes. Source after parse_options.sh.
#
# Variables it reads (declare them as recipe options):
#   stage        first stage to run (default 0)
#   stop_stage   last stage to run (default 10000)
#   logdir       where stageN.log files go (default exp/logs)
#
# Functions:
#   stage_enabled N             true iff stage <= N <= stop_stage
#   run_stage N "what" cmd ...  if enabled: run cmd (often a shell function) with stdout and
#                               stderr shown and written to $logdir/stageN.log (replaced on each
#                               run, so re-running a stage is safe); stop the recipe with the
#                               log's name and the stage's last output line (the error of a
#                               failing speechtools command) on stderr if it fails. cmd runs
#                               in a subshell with "set -eo pipefail": it stops at its first
#                               failing command, and variables it sets do not leak into the
#                               recipe.
#                               Call it as a plain statement (not after "if", "||" or "&&",
#                               where bash would ignore set -e inside the stage).
#   log message ...             timestamped message on stderr

log() {
  echo "$(date '+%Y-%m-%dT%H:%M:%S') ($(basename "$0")) $*" >&2
}

stage_enabled() {
  local n=$1
  [ "${stage:-0}" -le "$n" ] && [ "$n" -le "${stop_stage:-10000}" ]
}

run_stage() {
  if [ $# -lt 3 ]; then
    echo "run_stage: usage: run_stage N \"description\" command [args...]" >&2
    exit 2
  fi
  local n=$1 description=$2
  shift 2
  stage_enabled "$n" || return 0
  local dir=${logdir:-exp/logs}
  mkdir -p "$dir"
  local logfile="$dir/stage$n.log"
  log "stage $n: $description (log: $logfile)"
  {
    printf '# stage %s: %s\n# command:' "$n" "$description"
    printf ' %q' "$@"
    printf '\n# started %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')"
  } > "$logfile"
  local start=$SECONDS rc had_e=0
  [[ $- == *e* ]] && had_e=1
  set +e
  ( set -eo pipefail; "$@" ) 2>&1 | tee -a "$logfile"
  rc=${PIPESTATUS[0]}
  [ "$had_e" -eq 1 ] && set -e
  local elapsed=$((SECONDS - start)) last
  printf '# ended %s with status %s after %ss\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$rc" "$elapsed" >> "$logfile"
  if [ "$rc" -ne 0 ]; then
    # the stage's last non-empty output line (progress bars split at carriage returns), between the
    # 3-line header and the "# ended" line
    last=$(sed -e '1,3d' -e '$d' "$logfile" | tr '\r' '\n' | grep -v '^[[:space:]]*$' | tail -n 1 || true)
    log "stage $n failed (exit $rc); see $logfile${last:+; its last line: $last}"
    exit "$rc"
  fi
  log "stage $n done in ${elapsed}s"
}

# train_launch_args: how `speechtools train` runs, from the recipe options $ngpu and $device.
# ngpu empty: --device $device; 0: CPU; 1: one GPU; N > 1: N GPUs with DistributedDataParallel
# (speechtools train re-launches itself under torchrun). Use unquoted: $(train_launch_args).
train_launch_args() {
  if [ -n "${ngpu:-}" ]; then
    printf '%s %s\n' --ngpu "$ngpu"
  else
    printf '%s %s\n' --device "${device:-auto}"
  fi
}

# train_resume_args: how a training stage treats its existing experiment directory, from the
# recipe option $overwrite. false (default): --auto-resume (a stage killed during training
# continues from its newest checkpoint when re-run; a changed config is refused, naming the
# differing keys); true: --overwrite (start that training afresh). Training stages never
# delete their experiment directory. Use unquoted: $(train_resume_args).
train_resume_args() {
  if [ "${overwrite:-false}" = true ]; then
    printf '%s\n' --overwrite
  else
    printf '%s\n' --auto-resume
  fi
}
