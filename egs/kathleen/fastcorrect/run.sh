#!/usr/bin/env bash
# FastCorrect (Leng et al., NeurIPS 2021) on real English recognition errors: the Kathleen
# recordings of the CMU ARCTIC "a" prompts decoded by pocketsphinx 5 (WER ~25%).
#
#   0 asr        (optional, --asr-decode true; extra `asr`) decode <corpus>/wavs with pocketsphinx
#   1 data       pairs (ASR 1-best, normalised reference) for train / dev (50) / test (100 fixed ids)
#   2 noise      pre-training pairs: LJSpeech LJ001-LJ040 transcripts noised --noise-epochs times
#   3 vocab      tokens.txt (words seen >= 3 times + character fallback pieces)
#   4 pretrain   FastCorrect and the AR baseline on the noised text  -> exp/pretrain_<model>/
#   5 finetune   both on the Kathleen train pairs                    -> exp/<model>/
#   6 decode     correct-asr on dev and test
#   7 score      speechtools score correction -> exp/results.md
#
#   ./run.sh                                               # shipped transcripts + ASR output, mini models
#   ./run.sh --corpus /path/kathleen --asr-decode true     # rebuild the hypotheses from the audio
#   ./run.sh --size tiny --pretrain-steps 30 --finetune-steps 10   # smoke test
stage=1                    # first stage to run
stop_stage=7               # last stage to run
corpus=corpus              # folder with text.psv and asr_hyp.tsv (and wavs/ for --asr-decode)
text_corpus=corpus/ljspeech_LJ001-LJ040.txt.gz  # pre-training text, one sentence per line (.gz ok)
asr_decode=false           # true: stage 0 decodes <corpus>/wavs with pocketsphinx instead of asr_hyp.tsv
noise_epochs=4             # noised copies of the pre-training text (seeds 1..N)
size=mini                  # model size: tiny | mini | small | paper (conf/correction/<model>_<size>.yaml)
models="fastcorrect transformer_corrector"  # which correctors to train
pretrain_steps=""          # override trainer.max_steps of pre-training
finetune_steps=""          # override trainer.max_steps of fine-tuning
edit_threshold=""          # FastCorrect edit gate for decoding (empty = choose from --gate-grid on dev, 0 = off)
gate_grid="0 0.5 0.7 0.9"  # edit-gate thresholds tried on dev (lowest dev WER wins, ties -> smaller)
batch_size=32              # decoding batch size
device=auto                # auto | cpu | cuda[:N]
ngpu=""                # GPUs for training: empty = use --device; 0 = CPU; N > 1 = DDP over N GPUs (torchrun)
help_message="Usage: ./run.sh [options]   (stages: 0 asr, 1 data, 2 noise, 3 vocab, 4 pretrain, 5 finetune, 6 decode, 7 score)"
cd "$(dirname "$0")"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
set -euo pipefail
logdir=exp/logs
root_conf="$SPEECHTOOLS_ROOT/conf/correction"

asr_stage() {
  [ -d "$corpus/wavs" ] || { echo "error: $corpus/wavs: no audio to decode (pass --corpus with wavs/)" >&2; exit 1; }
  mkdir -p data/all
  local f
  for f in "$corpus"/wavs/*.flac; do echo "$(basename "$f" .flac) $(cd "$(dirname "$f")" && pwd)/$(basename "$f")"; done | sort > data/all/wav.scp
  awk '{print $1, "kathleen"}' data/all/wav.scp > data/all/utt2spk
  speechtools asr decode data/all --out data/asr_hyp.txt
}

data_stage() {
  local hyp_opt=()
  [ "$asr_decode" = true ] && hyp_opt=(--hyp data/asr_hyp.txt)
  python local/prepare_pairs.py --corpus "$corpus" --test-ids local/test_ids.txt --dev-ids local/dev_ids.txt --out data "${hyp_opt[@]}"
}

noise_stage() {
  case "$text_corpus" in
    *.gz) gzip -dc "$text_corpus" ;;
    *) cat "$text_corpus" ;;
  esac > data/pretrain_text.txt
  speechtools correct noise --lang en --seed 1 --epochs "$noise_epochs" data/pretrain_text.txt data/pretrain.tsv
}

vocab_stage() {
  speechtools correct vocab --lang en --min-count 3 data/pretrain_text.txt data/train/pairs.tsv data/tokens.txt
}

train_stage() {  # $1 = pretrain | finetune
  local phase=$1 m steps out
  [ "$phase" = pretrain ] && steps=$pretrain_steps || steps=$finetune_steps
  for m in $models; do
    [ "$phase" = pretrain ] && out=exp/pretrain_$m || out=exp/$m
    local extra=()
    mapfile -t extra < <(python "$root_conf/size_overrides.py" "$root_conf/${m}_${size}.yaml")
    [ -n "$steps" ] && extra+=(--set "trainer.max_steps=$steps" --set "trainer.save_interval=$steps" --set "trainer.valid_interval=$steps")
    rm -rf "$out"
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} speechtools train --config "conf/${m}_${phase}.yaml" --out-dir "$out" \
      $(train_launch_args) --quiet "${extra[@]}"
  done
}

choose_gate() {  # FastCorrect edit gate: the threshold of --gate-grid with the lowest dev WER
  local t best="" best_wer=""
  for t in $gate_grid; do
    mkdir -p "exp/fastcorrect/gate/$t"
    speechtools correct-asr --model-dir exp/fastcorrect --batch-size "$batch_size" --device "$device" --quiet \
      --edit-threshold "$t" data/dev/hyp "exp/fastcorrect/gate/$t/text"
    speechtools score correction --src data/dev/hyp --hyp "exp/fastcorrect/gate/$t/text" --ref data/dev/ref \
      --json "exp/fastcorrect/gate/$t/metrics.json" > /dev/null
    wer=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['wer_after'])" "exp/fastcorrect/gate/$t/metrics.json")
    echo "edit threshold $t: dev WER $wer" >&2
    if [ -z "$best" ] || python -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) - 1e-9 else 1)" "$wer" "$best_wer"; then
      best=$t best_wer=$wer
    fi
  done
  echo "$best"
}

decode_stage() {
  local m s gate=()
  for m in $models; do
    gate=()
    if [ "$m" = fastcorrect ]; then
      local t=$edit_threshold
      [ -z "$t" ] && [ -n "$gate_grid" ] && t=$(choose_gate)
      [ -n "$t" ] && gate=(--edit-threshold "$t") && echo "$t" > exp/fastcorrect/edit_threshold && log "FastCorrect edit threshold: $t"
    fi
    for s in dev test; do
      mkdir -p "exp/$m/decode_$s"
      speechtools correct-asr --model-dir "exp/$m" --batch-size "$batch_size" --device "$device" --quiet "${gate[@]}" \
        data/$s/hyp "exp/$m/decode_$s/text"
    done
  done
}

score_stage() {
  local m s
  python "$root_conf/results_table.py" --header > exp/results.md
  for m in $models; do
    for s in dev test; do
      speechtools score correction --src data/$s/hyp --hyp "exp/$m/decode_$s/text" --ref data/$s/ref \
        --json "exp/$m/decode_$s/metrics.json" > "exp/$m/decode_$s/score.txt"
      python "$root_conf/results_table.py" "$m" "$s" "exp/$m/decode_$s/metrics.json" >> exp/results.md
    done
  done
  cat exp/results.md
}

[ "$asr_decode" = true ] && run_stage 0 "pocketsphinx decoding of $corpus/wavs" asr_stage
run_stage 1 "data: ASR/reference pairs (fixed 100-prompt test set)" data_stage
run_stage 2 "noised pre-training text ($noise_epochs epochs)" noise_stage
run_stage 3 "token list" vocab_stage
run_stage 4 "pre-training ($models, size $size)" train_stage pretrain
run_stage 5 "fine-tuning on Kathleen train pairs" train_stage finetune
run_stage 6 "correct-asr on dev and test" decode_stage
run_stage 7 "scoring" score_stage
for m in $models; do log "model directory: $(pwd)/exp/$m"; done
