#!/usr/bin/env bash
# FastSpeech 2 on LJSpeech: data prep -> features/stats -> aligner + durations -> FastSpeech 2 ->
# synthesis of the eval set -> scoring. Stages live in ../../TEMPLATE/tts.sh; options there.
#
#   ./run.sh                                                      # bundled 32-clip mini corpus, tiny config (make demo)
#   ./run.sh --corpus /data/LJSpeech-1.1 --conf conf/fastspeech2.yaml --aligner-conf conf/aligner.yaml
#   ./run.sh --stage 5 --stop-stage 6                             # re-synthesise and re-score
cd "$(dirname "$0")"
exec ../../TEMPLATE/tts.sh --data-prep ljspeech --conf conf/fastspeech2_tiny.yaml --aligner-conf conf/aligner_tiny.yaml "$@"
