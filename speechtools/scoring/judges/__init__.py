"""Judges of synthesised speech for ``speechtools score vocoder`` and ``score naturalness`` (the ``eval`` extra).

A judge (:class:`~speechtools.scoring.judges.base.Judge`) gives every utterance a few metrics;
:func:`~speechtools.scoring.judges.base.judge_all` runs several judges over the utterances and
:mod:`~speechtools.scoring.judges.summary` reports the per-utterance table and each metric's mean
with its 95% interval. One module a judge:

==================  ==========================================================================
module              metrics
==================  ==========================================================================
``mcd``             MCD (dB) on re-analysed log-mels, DTW-aligned (:mod:`speechtools.scoring.tts_metrics`)
``speech_quality``  wide-band PESQ (ITU-T P.862.2, ``pesq``) and STOI (``pystoi``) against the real recording
``naturalness``     DNSMOS P.808 MOS and P.835 SIG/BAK/OVRL (``speechmos``), no reference needed
``asr_wer``         WER of a recogniser's transcript of the output against the reference text
==================  ==========================================================================

A new judge (e.g. speaker similarity) is one more module with a :class:`Judge` subclass and one
line in the command that uses it.
"""
