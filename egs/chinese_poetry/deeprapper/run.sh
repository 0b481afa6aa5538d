#!/usr/bin/env bash
# DeepRapper on Song ci (chinese-poetry): data -> training (DeepRapper and a left-to-right
# baseline without rhyme embeddings, same budget) -> generation from held-out first lines (with
# and without the rhyme constraint) -> rhyme, diversity and perplexity scores, beside the real
# held-out lyrics.
#
#   ./run.sh --mini true                          # CI mini path: bundled ci fixture, tiny model (seconds)
#   ./run.sh --mini true --lang en                # English mini path: bundled verse (words, CMUdict rhymes)
#   ./run.sh --corpus ../../../../shared/corpora/chinese_poetry --max-steps 3000   # the ci, CPU-size model
#   ./run.sh --lang en --corpus ../../../../shared/corpora/english_text/shakespeare_modern.txt.gz --test-songs 14 --valid-songs 7
#                                                 # English: Shakespeare's sonnets (or any lyrics files)
#   ./run.sh --stage 3 --stop-stage 4             # re-run generation and scoring only
stage=1                   # first stage: 1 data, 2 train, 3 generate, 4 score
stop_stage=4              # last stage
lang=zh                   # zh (ci, characters, pinyin finals) | en (lyrics text files, words, CMUdict rhymes)
corpus=""                 # zh: the chinese_poetry folder (ci.song.*.json); en: lyrics files/folders, or shakespeare_modern.txt.gz (its sonnets); --mini: a bundled fixture
mini=false                # true: the bundled fixture and the tiny config (the CI path)
config=""                 # training config (default: conf/music/deeprapper_cpu.yaml, or deeprapper_tiny.yaml with --mini)
tag=""                    # experiment names exp/<lang>_<system>_<tag> (default: cpu, or mini)
systems="full l2r"        # full: DeepRapper (reverse order, all embeddings); l2r: left to right, no rhyme embedding
max_steps=""              # override trainer.max_steps
train_args=""             # extra options for training, e.g. "--set trainer.batch_bins=2048"
valid_songs=""            # held-out validation songs (default 200, 1 with --mini)
test_songs=""             # held-out test songs (default 200, 2 with --mini)
max_tokens=0              # keep the N most frequent training tokens (0: all)
prompt_lines=1            # lines of each held-out song given as the prompt
gen_lines=4               # lines generated after the prompt
top_k=8                   # top-k sampling
seed=1
device=auto               # auto | cpu | cuda[:N]
ngpu=""                   # GPUs for training: empty = use --device; 0 = CPU; N > 1 = DDP over N GPUs (torchrun)
overwrite=false           # training stages: false = continue a killed run from its checkpoint (refuse a changed config); true = start afresh
help_message="Usage: ./run.sh [options]   (DeepRapper recipe; see README.md)"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
set -euo pipefail

fixtures=$SPEECHTOOLS_ROOT/tests/fixtures/music/lyrics
if [ "$mini" = true ]; then
  : "${config:=$SPEECHTOOLS_ROOT/conf/music/deeprapper_tiny.yaml}" "${tag:=mini}" "${valid_songs:=1}" "${test_songs:=2}"
  if [ -z "$corpus" ]; then
    if [ "$lang" = zh ]; then corpus=$fixtures/ci.song.0.json; else corpus=$fixtures/verse_en.txt; test_songs=1; valid_songs=0; fi
  fi
else
  : "${config:=$SPEECHTOOLS_ROOT/conf/music/deeprapper_cpu.yaml}" "${tag:=cpu}" "${valid_songs:=200}" "${test_songs:=200}"
fi
[ -n "$corpus" ] || { log "give --corpus (zh: the chinese_poetry folder; en: lyrics files), or --mini true"; exit 1; }
if [ "$lang" = zh ]; then format=ci; else format=lyrics; fi
data=data/$lang
logdir=exp/logs/${lang}_$tag

prepare() {
  if [ "$lang" = en ] && [ "${corpus%shakespeare_modern.txt.gz}" != "$corpus" ]; then
    python local/shakespeare_sonnets.py "$corpus" data/sonnets.txt  # the 154 sonnets as lyrics
    corpus=data/sonnets.txt
  fi
  speechtools music prepare-lyrics $corpus --format "$format" --lang "$lang" --valid-songs "$valid_songs" \
    --test-songs "$test_songs" --max-tokens "$max_tokens" --seed "$seed" --out-dir "$data"
  # the real held-out lyrics, cut to the length of a generated song: the reference line (d)
  awk -v n=$((prompt_lines + gen_lines)) 'NF == 0 { k = 0; print; next } ++k <= n' "$data/test.txt" > "$data/test_ref.txt"
}

train_system() {
  local system=$1 out=exp/${lang}_${1}_$tag extra=()
  case $system in
    full) ;;
    l2r) extra=(--set task_conf.reverse=false --set model_conf.use_rhyme=false) ;;
    *) log "unknown system $system (full | l2r)"; return 1 ;;
  esac
  [ -n "$max_steps" ] && extra+=(--set "trainer.max_steps=$max_steps")
  local valid=()
  [ -s "$data/valid.txt" ] && valid=(--set "task_conf.valid_lyrics=$data/valid.txt")
  log "train $system -> $out"
  speechtools train --config "$config" --out-dir "$out" $(train_launch_args) $(train_resume_args) --seed "$seed" --quiet \
    --set "task_conf.lang=$lang" --set "task_conf.train_lyrics=$data/train.txt" --set "task_conf.token_list=$data/tokens.txt" \
    --set "task_conf.rhyme_list=$data/rhymes.txt" "${valid[@]}" "${extra[@]}" $train_args
}

train() {
  local system
  for system in $systems; do train_system "$system"; done
}

generate() {
  local system out args=(--prompt-file "$data/test.txt" --prompt-lines "$prompt_lines" --lines "$gen_lines" --lang "$lang"
                         --top-k "$top_k" --seed "$seed" --device "$device")
  for system in $systems; do
    out=exp/${lang}_${system}_$tag
    if [ "$system" = full ]; then
      speechtools music rap --model-dir "$out" "${args[@]}" --out "$out/gen_rhyme.txt"
      speechtools music rap --model-dir "$out" "${args[@]}" --no-rhyme --out "$out/gen_free.txt"
    else
      speechtools music rap --model-dir "$out" "${args[@]}" --no-rhyme --out "$out/gen_free.txt"
    fi
  done
}

score() {
  local system out gen
  speechtools score lyrics "$data/test_ref.txt" --lang "$lang" --json "exp/${lang}_real_$tag.json"
  for system in $systems; do
    out=exp/${lang}_${system}_$tag
    speechtools score lyrics "$data/test.txt" --lang "$lang" --model-dir "$out" --device "$device" --json "$out/test_ppl.json"
    for gen in gen_rhyme gen_free; do
      [ -f "$out/$gen.txt" ] && speechtools score lyrics "$out/$gen.txt" --lang "$lang" --json "$out/$gen.json"
    done
  done
  python local/collect_results.py exp "$lang" "$tag" > "exp/results_${lang}_$tag.md"
  cat "exp/results_${lang}_$tag.md"
}

mkdir -p exp
run_stage 1 "data: $corpus -> $data (held-out split, seed $seed)" prepare
run_stage 2 "train ($systems; $config)" train
run_stage 3 "generate $gen_lines lines from the first $prompt_lines line(s) of each test song" generate
run_stage 4 "score: rhyme, diversity, perplexity; the real held-out lyrics as reference" score
for system in $systems; do
  [ -d "exp/${lang}_${system}_$tag" ] && log "model directory: $(pwd)/exp/${lang}_${system}_$tag"
done
exit 0
