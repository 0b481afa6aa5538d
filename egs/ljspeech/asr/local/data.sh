#!/usr/bin/env bash
# Data of the mini ASR recipe (CI): the bundled LJSpeech mini corpus (26 train, 3 dev, 3 eval clips),
# or a full LJSpeech-1.1 with --corpus DIR.
set -euo pipefail
out=data corpus_opt=()
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --corpus) corpus_opt=(--corpus "$2"); shift 2 ;;
    *) echo "local/data.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
rm -rf "$out"/{train,dev,eval}
speechtools data prepare ljspeech --out "$out" "${corpus_opt[@]}"
