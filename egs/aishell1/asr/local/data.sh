#!/usr/bin/env bash
# Data of the AISHELL-1 ASR recipe: the release's train / dev / test split (speechtools data prepare aishell1).
#   local/data.sh --out data --corpus /data/aishell/data_aishell
set -euo pipefail
out=data corpus=""
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    *) echo "local/data.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
[ -n "$corpus" ] || { echo "error: give --corpus-args \"--corpus DATA_AISHELL_DIR\" (the folder with transcript/ and wav/)" >&2; exit 1; }
rm -rf "$out"/{train,dev,test}
speechtools data prepare aishell1 --corpus "$corpus" --out "$out"
