#!/usr/bin/env bash
# Source from a recipe (egs/<dataset>/<model>/run.sh):  . ../../../local/path.sh
# Sets SPEECHTOOLS_ROOT, puts the repository's bin/ and its .venv (when present) on PATH,
# and makes sort/join use byte order (LC_ALL=C) as Kaldi data directories require.

SPEECHTOOLS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SPEECHTOOLS_ROOT

_path_prepend() {
  case ":$PATH:" in
    *":$1:"*) ;;
    *) PATH="$1:$PATH" ;;
  esac
}
if [ -x "$SPEECHTOOLS_ROOT/.venv/bin/python" ]; then
  _path_prepend "$SPEECHTOOLS_ROOT/.venv/bin"
fi
_path_prepend "$SPEECHTOOLS_ROOT/bin"
unset -f _path_prepend
export PATH
export LC_ALL=C
export PYTHONUNBUFFERED=1
