#!/usr/bin/env bash
# Kaldi-style option parsing for recipes: every option is a shell variable.
#
# Declare options as top-level assignments (one per line, an optional trailing "# comment" is
# its help) BEFORE sourcing this file; then "--name value" (or "--name=value") sets $name.
# Dashes and underscores are the same: --stop-stage 3 == --stop_stage 3.
#
#   stage=1            # first stage to run
#   stop_stage=100     # last stage to run
#   ngpu=0             # number of GPUs (0 = CPU)
#   help_message="Usage: $0 [options]"   # optional header for --help
#   . "$SPEECHTOOLS_ROOT/local/parse_options.sh"
#   # "$@" now holds the positional arguments left after the options
#
# Rules (as in Kaldi's utils/parse_options.sh):
#   - an option that was not declared is an error (exit 1);
#   - an option whose default is true/false only accepts true/false;
#   - parsing stops at the first argument that does not start with "--", or after "--";
#   - --help (or -h) prints $help_message and every option with its default, then exits 0.

_po_script="${BASH_SOURCE[1]:-$0}"
# A recipe that cd's to its own folder before sourcing this (cd "$(dirname "$0")") was started by a
# path relative to another folder: it is now its basename here.
if [ ! -f "$_po_script" ] && [ -f "$(basename "$_po_script")" ]; then
  _po_script=$(basename "$_po_script")
fi
_po_names=()
_po_comments=()
if [ -f "$_po_script" ]; then
  while IFS= read -r _po_line || [ -n "$_po_line" ]; do
    case "$_po_line" in
      *parse_options.sh*) break ;;
    esac
    if [[ $_po_line =~ ^([A-Za-z][A-Za-z0-9_]*)=[^#]*(#[[:space:]]*(.*))?$ ]]; then
      _po_name=${BASH_REMATCH[1]}
      case "$_po_name" in help_message) continue ;; esac
      _po_names+=("$_po_name")
      _po_comments+=("${BASH_REMATCH[3]}")
    fi
  done < "$_po_script"
fi

_po_is_option() {
  local n
  if [ ${#_po_names[@]} -eq 0 ]; then
    # Caller could not be read (e.g. bash -c): any defined variable is an option, as in Kaldi.
    [ -n "${!1+x}" ]
    return
  fi
  for n in "${_po_names[@]}"; do
    [ "$n" = "$1" ] && return 0
  done
  return 1
}

_po_help() {
  local i name value width=0 vwidth=0
  if [ -n "${help_message:-}" ]; then
    printf '%s\n' "$help_message"
  else
    printf 'Usage: %s [options] [args]\n' "$(basename "$_po_script")"
  fi
  [ ${#_po_names[@]} -eq 0 ] && return 0
  for name in "${_po_names[@]}"; do
    [ ${#name} -gt $width ] && width=${#name}
    value=${!name-}
    [ $((${#value} + 2)) -gt $vwidth ] && vwidth=$((${#value} + 2))
  done
  printf 'Options (default in quotes):\n'
  for i in "${!_po_names[@]}"; do
    name=${_po_names[$i]}
    value=${!name-}
    if [ -n "${_po_comments[$i]}" ]; then
      printf '  --%-*s %-*s  # %s\n' "$width" "${name//_/-}" "$vwidth" "\"$value\"" "${_po_comments[$i]}"
    else
      printf '  --%-*s "%s"\n' "$width" "${name//_/-}" "$value"
    fi
  done
}

while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      _po_help
      exit 0
      ;;
    --)
      shift
      break
      ;;
    --*=*)
      _po_name=${1%%=*}
      _po_name=${_po_name#--}
      _po_value=${1#*=}
      shift
      ;;
    --*)
      _po_name=${1#--}
      if [ $# -lt 2 ]; then
        echo "$(basename "$_po_script"): option --$_po_name needs a value" >&2
        exit 1
      fi
      _po_value=$2
      shift 2
      ;;
    *)
      break
      ;;
  esac
  _po_var=${_po_name//-/_}
  if ! [[ $_po_var =~ ^[A-Za-z][A-Za-z0-9_]*$ ]] || ! _po_is_option "$_po_var"; then
    echo "$(basename "$_po_script"): invalid option --$_po_name (run with --help to list options)" >&2
    exit 1
  fi
  _po_old=${!_po_var-}
  if [ "$_po_old" = true ] || [ "$_po_old" = false ]; then
    if [ "$_po_value" != true ] && [ "$_po_value" != false ]; then
      echo "$(basename "$_po_script"): option --$_po_name takes true or false, got '$_po_value'" >&2
      exit 1
    fi
  fi
  printf -v "$_po_var" '%s' "$_po_value"
done

unset _po_line _po_name _po_value _po_var _po_old
true
