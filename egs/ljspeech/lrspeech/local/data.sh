#!/usr/bin/env bash
# Data of the LRSpeech CI mini path: the bundled 32-clip LJSpeech mini corpus split into STAND-INS for
# the five conditions (one voice throughout, so it checks the plumbing, not the method):
#   target           the first 6 training clips (by id)
#   lowq             the next 8 ("other speakers' paired data": here the same voice)
#   unpaired_speech  the next 6 training clips, text withheld (the last 6 are not used)
#   unpaired_text    the transcripts of those 6 clips under new ids (a stand-in for unpaired text)
#   target_all       target + the unpaired clips with their text (the ceiling)
#   dev, test        the mini corpus's dev and eval clips
#   local/data.sh --out data [--corpus LJSPEECH_DIR]
set -euo pipefail
out=data corpus=""
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    *) echo "local/data.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
rm -rf "$out"/{prep,target,lowq,unpaired_speech,unpaired_text,target_all,dev,test}
speechtools data prepare ljspeech --out "$out/prep" ${corpus:+--corpus "$corpus"}
cut -d' ' -f1 "$out/prep/train/text" | sort > "$out/prep/train_ids.txt"
head -6 "$out/prep/train_ids.txt" > "$out/prep/target_ids.txt"
sed -n 7,14p "$out/prep/train_ids.txt" > "$out/prep/lowq_ids.txt"
sed -n 15,20p "$out/prep/train_ids.txt" > "$out/prep/unpaired_ids.txt"
speechtools data subset "$out/prep/train" "$out/target" --utt-list "$out/prep/target_ids.txt"
speechtools data subset "$out/prep/train" "$out/lowq" --utt-list "$out/prep/lowq_ids.txt"
speechtools data subset "$out/prep/train" "$out/unpaired_speech" --utt-list "$out/prep/unpaired_ids.txt"
mkdir -p "$out/unpaired_text"
sed 's/^/text_/' "$out/unpaired_speech/text" > "$out/unpaired_text/text"
rm "$out/unpaired_speech/text"
cat "$out/prep/target_ids.txt" "$out/prep/unpaired_ids.txt" > "$out/prep/target_all_ids.txt"
speechtools data subset "$out/prep/train" "$out/target_all" --utt-list "$out/prep/target_all_ids.txt"
speechtools data subset "$out/prep/dev" "$out/dev" --first 3
speechtools data subset "$out/prep/eval" "$out/test" --first 3
for s in target lowq unpaired_speech target_all dev test; do echo "$s: $(wc -l < "$out/$s/wav.scp") utterances"; done
echo "unpaired_text: $(wc -l < "$out/unpaired_text/text") sentences"
