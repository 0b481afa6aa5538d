"""The ranges of the synthesis controls (FastSpeech Sec. 3.2 speed, FastSpeech 2 Sec. 2.3 pitch and energy).

Shared by :class:`speechtools.tts.synthesizer.Synthesizer` and ``speechtools synth`` (which
checks them before loading anything). Outside these ranges a model extrapolates far beyond its
training data (and ``--speed 0.001`` would write megabytes of audio for one word).
"""

SPEED_RANGE = (0.25, 4.0)
"""Speaking rates (4x slower to 4x faster)."""
PITCH_SHIFT_RANGE = (-24.0, 24.0)
"""Pitch shifts in semitones (two octaves either way)."""
ENERGY_SCALE_RANGE = (0.1, 10.0)
"""Energy multipliers."""
