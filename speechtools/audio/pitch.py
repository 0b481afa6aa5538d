"""F0 with Praat's autocorrelation pitch tracker (via praat-parselmouth), on the STFT frame grid.

Algorithm: Boersma (1993), "Accurate short-term analysis of the fundamental frequency and
the harmonics-to-noise ratio of a sampled sound", IFA Proceedings 17 — windowed
autocorrelation divided by the window's autocorrelation, sinc-interpolated peaks, and a
Viterbi path through the candidates (octave/voicing costs). Praat runs it at a time step
of ``hop / sample_rate``; its frames start at an offset that depends on the signal
length, so the track is resampled onto speechtools' frame grid (frame ``i`` centred on
sample ``i * hop``): a frame is voiced when the nearest Praat frame is, and its F0 is
interpolated linearly between the two surrounding Praat frames when both are voiced.

Continuous log-F0 (as ESPnet2's ``dio`` feature with ``use_continuous_f0``): log-F0 is
linearly interpolated across unvoiced frames and the ends are padded with the nearest
voiced value.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
import parselmouth


def praat_f0(
    wav: np.ndarray,
    sample_rate: int,
    hop_length: int,
    n_frames: int,
    f0_min: float,
    f0_max: float,
    voicing_threshold: float = 0.45,
) -> Tuple[np.ndarray, np.ndarray]:
    """F0 in Hz and voiced flags on ``n_frames`` frames centred at ``i * hop_length`` samples.

    Args:
        wav: mono waveform, 1-D.
        sample_rate: its rate in Hz.
        hop_length: frame step in samples.
        n_frames: how many frames to return (the mel frame count of the same signal).
        f0_min, f0_max: Praat's pitch floor and ceiling in Hz (the window is ``3 / f0_min`` s).
        voicing_threshold: Praat's voicing threshold (its default 0.45).

    Returns:
        ``(f0, voiced)``: float32 Hz (0 where unvoiced) and bool, both ``(n_frames,)``.
    """
    f0 = np.zeros(n_frames, dtype=np.float32)
    voiced = np.zeros(n_frames, dtype=bool)
    signal = np.ascontiguousarray(wav, dtype=np.float64).reshape(-1)
    if signal.size / sample_rate <= 3.0 / f0_min or n_frames == 0:
        return f0, voiced  # shorter than one analysis window: nothing can be voiced
    sound = parselmouth.Sound(signal, sampling_frequency=float(sample_rate))
    pitch = sound.to_pitch_ac(
        time_step=hop_length / sample_rate,
        pitch_floor=float(f0_min),
        pitch_ceiling=float(f0_max),
        voicing_threshold=float(voicing_threshold),
    )
    track = pitch.selected_array["frequency"].astype(np.float64)
    if track.size == 0:
        return f0, voiced
    # Praat's clock puts sample n at (n + 0.5) / sample_rate.
    times = (np.arange(n_frames) * hop_length + 0.5) / sample_rate
    position = (times - pitch.x1) / pitch.dx
    inside = (position > -0.5) & (position < track.size - 0.5)
    nearest = np.clip(np.rint(position), 0, track.size - 1).astype(np.int64)
    left = np.clip(np.floor(position), 0, track.size - 1).astype(np.int64)
    right = np.clip(left + 1, 0, track.size - 1)
    frac = np.clip(position - left, 0.0, 1.0)
    voiced = inside & (track[nearest] > 0)
    both = (track[left] > 0) & (track[right] > 0)
    value = np.where(both, (1.0 - frac) * track[left] + frac * track[right], track[nearest])
    f0 = np.where(voiced, value, 0.0).astype(np.float32)
    return f0, voiced


def continuous_log_f0(f0: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Natural-log F0 with unvoiced frames filled by linear interpolation of log-F0 between voiced
    neighbours and the ends padded with the nearest voiced value; all zeros if nothing is voiced."""
    f0 = np.asarray(f0, dtype=np.float64).reshape(-1)
    voiced = np.asarray(voiced, dtype=bool).reshape(-1)
    if f0.shape != voiced.shape:
        raise ValueError(f"f0 and voiced differ in length: {f0.shape[0]} vs {voiced.shape[0]}")
    voiced = voiced & (f0 > 0)
    if not voiced.any():
        return np.zeros(f0.shape, dtype=np.float32)
    index = np.flatnonzero(voiced)
    return np.interp(np.arange(f0.size), index, np.log(f0[index])).astype(np.float32)
