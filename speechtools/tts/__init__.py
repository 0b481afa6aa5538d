"""Speech synthesis from a trained TTS model directory: text → tokens → model → vocoder → wav; vocoding of mels (``vocode``)."""
