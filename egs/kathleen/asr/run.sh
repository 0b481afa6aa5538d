#!/usr/bin/env bash
# Speech recognition on one 40-minute voice (issue 19): a small Conformer CTC/attention recogniser
# trained on Kathleen's 443 training prompts and on the first 100 of them, each with no augmentation,
# SpecAugment, MixSpeech and MixSpeech + SpecAugment (same steps, batch, learning rate and seed),
# decoded on the FastCorrect recipe's 100 held-out prompts and on all of Philipp (unseen speaker),
# beside pocketsphinx on the same clips. Stages: ../../TEMPLATE/asr.sh (./run.sh --help). Results: README.md.
#
#   ./run.sh --corpus-args "--corpus ../../../../shared/corpora/kathleen --corpus-philipp ../../../../shared/corpora/philipp"
#   ./run.sh ... --stage 5 --beam-size 10 --ctc-weight 0.3      # joint CTC/attention search on the trained models
#   ./run.sh ... --train-sets train --augment mixspeech --max-steps 200   # one quick row
#   ./run.sh ... --stage 2 --units en_bpe --bpe-size 100   # SentencePiece units (default: characters): exp/<row>_unigram100
#   ./run.sh ... --stage 2 --speed-perturb-factors "0.9 1.0 1.1"   # ESPnet's speed perturbation: exp/<set>_sp_<augment>
cd "$(dirname "$0")"
exec ../../TEMPLATE/asr.sh --train-sets "train_100 train" --augment "none specaug mixspeech mixspeech+specaug" \
  --test-sets "test philipp" --jobs 2 "$@"
