"""Modules here register extra vocoders in :data:`speechtools.tts.vocoders.VOCODERS` (e.g. ``priorgrad.py``)."""
