#!/usr/bin/env bash
# Data of the Kathleen LRSpeech recipe (issue 21): the paper's data conditions simulated in English with
# real voices (no low-resource language corpus installs offline).
#   target           50 Kathleen pairs: local/target_ids.txt (every 9th of the 443 training prompts by id)
#   lowq             low-quality multi-speaker paired data: Philipp (141 clips, non-native, other
#                    microphone) + the LJSpeech mini corpus (32 clips; --corpus-ljspeech for the full one)
#   unpaired_speech  Kathleen's other 393 training clips with their text withheld
#   unpaired_text    --num-text sentences of --text-corpus (english_text: `text prepare-corpus`, every
#                    Kathleen prompt excluded, 5-20 words), every k-th sentence (fixed)
#   target_all       all 443 Kathleen training pairs (the ceiling)
#   dev, test        the FastCorrect recipe's 50 dev and 100 test prompts (never in the unpaired data)
#   local/data.sh --out data --corpus KATHLEEN --corpus-philipp PHILIPP --text-corpus ENGLISH_TEXT [--num-text N]
#                 [--corpus-ljspeech LJSPEECH]
set -euo pipefail
out=data corpus="" corpus_philipp="" corpus_ljspeech="" text_corpus="" num_text=1000
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --corpus-philipp) corpus_philipp=$2; shift 2 ;;
    --corpus-ljspeech) corpus_ljspeech=$2; shift 2 ;;
    --text-corpus) text_corpus=$2; shift 2 ;;
    --num-text) num_text=$2; shift 2 ;;
    *) echo "local/data.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
[ -n "$corpus" ] && [ -n "$corpus_philipp" ] && [ -n "$text_corpus" ] || {
  echo "error: give --corpus-args \"--corpus KATHLEEN_DIR --corpus-philipp PHILIPP_DIR --text-corpus ENGLISH_TEXT\"" >&2
  exit 1
}
ids=../fastcorrect/local
rm -rf "$out"/{prep_kathleen,prep_philipp,prep_ljspeech,all,philipp,ljspeech,target,lowq,unpaired_speech,unpaired_text,target_all,dev,test}
speechtools data prepare kathleen --corpus "$corpus" --out "$out/prep_kathleen"
speechtools data combine "$out/all" "$out"/prep_kathleen/{train,dev,eval}
speechtools data subset "$out/all" "$out/test" --utt-list "$ids/test_ids.txt"
speechtools data subset "$out/all" "$out/dev" --utt-list "$ids/dev_ids.txt"
cut -d' ' -f1 "$out/all/text" | grep -vxF -f <(cat "$ids/test_ids.txt" "$ids/dev_ids.txt") > "$out/target_all_ids.txt"
speechtools data subset "$out/all" "$out/target_all" --utt-list "$out/target_all_ids.txt"
speechtools data subset "$out/target_all" "$out/target" --utt-list local/target_ids.txt
grep -vxF -f local/target_ids.txt "$out/target_all_ids.txt" > "$out/unpaired_ids.txt"
speechtools data subset "$out/target_all" "$out/unpaired_speech" --utt-list "$out/unpaired_ids.txt"
rm "$out/unpaired_speech/text"
speechtools data prepare philipp --corpus "$corpus_philipp" --out "$out/prep_philipp"
speechtools data combine "$out/philipp" "$out"/prep_philipp/{adapt,eval}
speechtools data prepare ljspeech --out "$out/prep_ljspeech" ${corpus_ljspeech:+--corpus "$corpus_ljspeech"}
speechtools data combine "$out/ljspeech" "$out"/prep_ljspeech/{train,dev,eval}
speechtools data combine "$out/lowq" "$out/philipp" "$out/ljspeech"
mkdir -p "$out/unpaired_text"
speechtools text prepare-corpus "$text_corpus" --exclude "$out/all/text" --min-words 5 --max-words 20 \
  --out "$out/unpaired_text/corpus.txt" --report "$out/unpaired_text/corpus.json"
total=$(wc -l < "$out/unpaired_text/corpus.txt")
step=$(( total / num_text )); [ "$step" -ge 1 ] || step=1
awk -v step="$step" -v n="$num_text" 'NR % step == 0 && c < n { c++; printf "text_%06d %s\n", c, $0 }' \
  "$out/unpaired_text/corpus.txt" > "$out/unpaired_text/text"
for s in target lowq unpaired_speech target_all dev test; do echo "$s: $(wc -l < "$out/$s/wav.scp") utterances"; done
echo "unpaired_text: $(wc -l < "$out/unpaired_text/text") sentences (every ${step}th of $total)"
