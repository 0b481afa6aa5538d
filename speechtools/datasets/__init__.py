"""PyTorch datasets and collate functions over Kaldi data directories and feature stores.

The data layer of the tasks: :mod:`speechtools.datasets.tts` (text + mel + durations, pitch,
energy, speakers; also what an ASR task reads: mel + tokens of any front-end) and
:mod:`speechtools.datasets.waveform` (waveform segments aligned to mel frames, for vocoders).
A task chooses and configures them; the datasets know nothing of models or training.
"""
