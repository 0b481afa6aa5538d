#!/usr/bin/env bash
# Data of the Kathleen ASR recipe: the FastCorrect recipe's fixed split of Kathleen's 593 clips
# (100 test prompts, 50 dev, the other 443 for training; train_100 = the first 100 of those by id),
# and all 141 clips of Philipp (an unseen speaker, other microphone) as a second test set.
#   local/data.sh --out data --corpus KATHLEEN_DIR --corpus-philipp PHILIPP_DIR
set -euo pipefail
out=data corpus="" corpus_philipp=""
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --corpus-philipp) corpus_philipp=$2; shift 2 ;;
    *) echo "local/data.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
[ -n "$corpus" ] && [ -n "$corpus_philipp" ] || {
  echo "error: give --corpus-args \"--corpus KATHLEEN_DIR --corpus-philipp PHILIPP_DIR\" (../shared/corpora/kathleen, .../philipp)" >&2
  exit 1
}
ids=../fastcorrect/local
rm -rf "$out"/{prep_kathleen,prep_philipp,all,train,train_100,dev,test,philipp}
speechtools data prepare kathleen --corpus "$corpus" --out "$out/prep_kathleen"
speechtools data combine "$out/all" "$out"/prep_kathleen/{train,dev,eval}
speechtools data subset "$out/all" "$out/test" --utt-list "$ids/test_ids.txt"
speechtools data subset "$out/all" "$out/dev" --utt-list "$ids/dev_ids.txt"
cut -d' ' -f1 "$out/all/text" | grep -vxF -f <(cat "$ids/test_ids.txt" "$ids/dev_ids.txt") > "$out/train_ids.txt"
speechtools data subset "$out/all" "$out/train" --utt-list "$out/train_ids.txt"
speechtools data subset "$out/train" "$out/train_100" --first 100
speechtools data prepare philipp --corpus "$corpus_philipp" --out "$out/prep_philipp"
speechtools data combine "$out/philipp" "$out"/prep_philipp/{adapt,eval}
for s in train train_100 dev test philipp; do echo "$s: $(wc -l < "$out/$s/text") utterances"; done
