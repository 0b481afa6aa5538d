#!/usr/bin/env bash
# FastCorrect (Leng et al., NeurIPS 2021) and FastCorrect 2 (Leng et al., Findings of EMNLP 2021) on
# real English recognition errors: the Kathleen recordings of the CMU ARCTIC "a" prompts decoded by
# pocketsphinx 5 (WER ~25%), whose 4-best lists are shipped too.
#
#   0 asr        (optional, --asr-decode true; extra `asr`) decode <corpus>/wavs with pocketsphinx
#   1 data       pairs (ASR 1-best, normalised reference) for train / dev (50) / test (100 fixed ids),
#                the n-best lists (nbest.tsv) and n-best pairs (nbest_pairs.tsv) of each set
#   2 noise      pre-training pairs: LJSpeech LJ001-LJ040 transcripts (or --text-corpus) noised
#                --noise-epochs times; for FastCorrect 2 with --nbest noised candidates per sentence
#   3 vocab      tokens.txt (words seen >= 3 times + character fallback pieces)
#   4 pretrain   each of --models on the noised text                 -> exp/pretrain_<model>/
#   5 finetune   on the Kathleen train pairs (FastCorrect 2: n-best pairs) -> exp/<model>/
#   6 decode     correct-asr on dev and test (FastCorrect 2: --n-best)
#   7 score      speechtools score correction -> exp/results.md (+ the n-best oracle row with FastCorrect 2)
#   (stages 2-7 live in ../../TEMPLATE/correction.sh)
#
#   ./run.sh                                               # shipped transcripts + ASR output, mini models
#   ./run.sh --models "fastcorrect fastcorrect2"           # FastCorrect 2 on the 4-best lists beside FastCorrect
#   ./run.sh --text-corpus ../../../../shared/corpora/english_text   # pre-train on the large English corpus
#   ./run.sh --corpus /path/kathleen --asr-decode true     # rebuild the hypotheses from the audio
#   ./run.sh --size tiny --pretrain-steps 30 --finetune-steps 10   # smoke test
stage=1                    # first stage to run
stop_stage=7               # last stage to run
corpus=corpus              # folder with text.psv and asr_hyp.tsv (and wavs/ for --asr-decode)
text_corpus=corpus/ljspeech_LJ001-LJ040.txt.gz  # pre-training text: files/folders of .txt/.txt.gz, sentence-split, normalised, dev/test prompts removed (text prepare-corpus); large: ../../../../shared/corpora/english_text
asr_decode=false           # true: stage 0 decodes <corpus>/wavs with pocketsphinx instead of asr_hyp.tsv
noise_epochs=4             # noised copies of the pre-training text (seeds 1..N)
noise_channel=""           # pairs of the target recogniser (e.g. data/train/pairs.tsv): noise like it errs
max_words=30000            # stage 3: the word list keeps at most this many words seen >= 3 times (correct vocab --max-words)
size=mini                  # model size: tiny | mini | small | paper (conf/correction/<model>_<size>.yaml)
models="fastcorrect transformer_corrector"  # which correctors to train: fastcorrect, transformer_corrector, fastcorrect2
nbest=4                    # FastCorrect 2: candidates per n-best list (pre-training noise, model_conf.n_candidates, oracle row)
nbest_noise=independent    # FastCorrect 2 pre-training candidates: independent draws, or correlated beams (the reference's pseudo n-best)
pretrain_steps=""          # override trainer.max_steps of pre-training
finetune_steps=""          # override trainer.max_steps of fine-tuning
edit_threshold=""          # FastCorrect edit gate for decoding (empty = choose from --gate-grid on dev, 0 = off)
gate_grid="0 0.5 0.7 0.9"  # edit-gate thresholds tried on dev (lowest dev WER wins, ties -> smaller)
batch_size=32              # decoding batch size
device=auto                # auto | cpu | cuda[:N]
ngpu=""                # GPUs for training: empty = use --device; 0 = CPU; N > 1 = DDP over N GPUs (torchrun)
overwrite=false            # training stages: false = continue a killed run from its checkpoint (refuse a changed config); true = start afresh
help_message="Usage: ./run.sh [options]   (stages: 0 asr, 1 data, 2 noise, 3 vocab, 4 pretrain, 5 finetune, 6 decode, 7 score)"
cd "$(dirname "$0")"
. ../../../local/path.sh
. "$SPEECHTOOLS_ROOT/local/parse_options.sh"
. "$SPEECHTOOLS_ROOT/local/stage.sh"
set -euo pipefail
logdir=exp/logs
lang=en
vocab_args="--min-count 3 --max-words $max_words"
nbest_noise_args=""        # FastCorrect 2 pre-training: the same uniform noise as FastCorrect's
ref_name=ref
score_args=""

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
  local s
  for s in train dev test; do  # FastCorrect 2's pairs: the distinct candidates of each list, 1-best first
    speechtools correct pairs --lang en --n-best "data/$s/ref" "data/$s/nbest.tsv" "data/$s/nbest_pairs.tsv"
  done
}

. ../../TEMPLATE/correction.sh

if [ "$asr_decode" = true ]; then
  run_stage 0 "pocketsphinx decoding of $corpus/wavs" asr_stage
fi
run_stage 1 "data: ASR/reference pairs (fixed 100-prompt test set)" data_stage
run_correction_stages
