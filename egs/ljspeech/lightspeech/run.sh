#!/usr/bin/env bash
# LightSpeech on LJSpeech (Luo et al. 2021): the same pipeline, data, durations and scoring as
# ../fastspeech2 (data prep -> features/stats -> aligner + durations -> LightSpeech -> synthesis
# of the eval set -> scoring), with the searched separable-convolution model. Stages live in
# ../../TEMPLATE/tts.sh; options there.
#
#   ./run.sh                                                      # bundled 32-clip mini corpus, tiny config
#   ./run.sh --corpus /data/LJSpeech-1.1 --conf conf/lightspeech.yaml --aligner-conf conf/aligner.yaml
#   ./run.sh --conf conf/my_arch.yaml   # another architecture of the search space: a config with
#                                       # base: lightspeech_tiny.yaml and model_conf: {arch: "sep9 mhsa2 ffn ..."}
cd "$(dirname "$0")"
exec ../../TEMPLATE/tts.sh --data-prep ljspeech --conf conf/lightspeech_tiny.yaml --aligner-conf conf/aligner_tiny.yaml "$@"
