"""Variance adaptor of FastSpeech 2 (arXiv 2006.04558, Sec. 2.3, Fig. 1b).

Duration, pitch and energy predictors plus the length regulator. Pitch and energy come in
the two variants users ask for:

* ``level: token`` (default, ESPnet2 / FastPitch style): one continuous value per token
  (the frame values averaged over the token's frames), predicted from the encoder output,
  embedded by a 1-wide convolution, added *before* length regulation.
* ``level: frame`` (the paper, v1): one value per frame, predicted after length regulation,
  quantised into ``bins`` (256) buckets and embedded with a lookup table. Pitch targets are
  normalised log-F0, so evenly spaced buckets in that space are log-scale F0 buckets; energy
  is normalised linear energy, so its buckets are linear.

The duration predictor is the plain one or, with ``duration.kind: moe``, AdaSpeech 3's mixture of
experts (:mod:`speechtools.nn.moe_duration_predictor`), for every model of the family.

All values are normalised (z-scores with the training-set stats). The model keeps the stats
as buffers so that inference controls can be given in physical units: ``pitch_shift`` in
semitones (adds ``s·ln2/12`` to log-F0) and ``energy_scale`` (multiplies energy).
During training the ground-truth durations, pitch and energy are fed (teacher forcing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from torch import nn

from speechtools.config import check_ranges
from speechtools.nn.conv import Conv1dT
from speechtools.nn.length_regulator import LengthRegulator, scale_durations
from speechtools.nn.masks import lengths_to_mask
from speechtools.nn.moe_duration_predictor import MoEDurationPredictor, gate_loss, speaking_rate_classes
from speechtools.nn.variance_predictor import VariancePredictor


@dataclass
class PredictorConfig:
    """One variance predictor: conv layers, channels, kernel, dropout."""

    layers: int = 2
    channels: int = 256
    kernel_size: int = 3
    dropout: float = 0.5

    def __post_init__(self) -> None:
        check_ranges(self, positive=("layers", "channels", "kernel_size"), probability=("dropout",))


DURATION_KINDS = ("plain", "moe")


@dataclass
class DurationPredictorConfig(PredictorConfig):
    """The duration predictor: :class:`PredictorConfig` plus which kind (``plain`` | ``moe``).

    Attributes:
        kind: ``plain`` (FastSpeech 2) or ``moe`` (AdaSpeech 3: ``experts`` predictors of this shape
            and a softmax gate, :class:`~speechtools.nn.moe_duration_predictor.MoEDurationPredictor`).
        experts: number of experts of ``moe`` (paper: 3, slow / medium / fast).
        gate_boundaries: ``experts - 1`` ascending speaking rates (frames per token) that give the
            gate a rate-class target; empty (default): the gate learns freely.
        gate_loss_weight: weight of that cross-entropy (``duration_gate_loss``).
    """

    kind: str = "plain"
    experts: int = 3
    gate_boundaries: List[float] = field(default_factory=list)
    gate_loss_weight: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind not in DURATION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(DURATION_KINDS)}, got {self.kind!r}")
        if self.experts < 2:
            raise ValueError(f"experts must be >= 2, got {self.experts}")
        if self.gate_boundaries and len(self.gate_boundaries) != self.experts - 1:
            raise ValueError(f"gate_boundaries needs experts - 1 = {self.experts - 1} values, got {len(self.gate_boundaries)}")
        if any(b <= a for a, b in zip(self.gate_boundaries, self.gate_boundaries[1:])):
            raise ValueError(f"gate_boundaries must be ascending, got {self.gate_boundaries}")
        if self.gate_loss_weight < 0:
            raise ValueError(f"gate_loss_weight must be >= 0, got {self.gate_loss_weight}")


@dataclass
class VarianceAdaptorConfig:
    """Which variances are modelled and how (see module docstring)."""

    level: str = "token"
    use_pitch: bool = True
    use_energy: bool = True
    bins: int = 256
    quantised_range: List[float] = field(default_factory=lambda: [-4.0, 4.0])
    stop_gradient: bool = True
    separable: bool = False
    duration: DurationPredictorConfig = field(default_factory=DurationPredictorConfig)
    pitch: PredictorConfig = field(default_factory=lambda: PredictorConfig(layers=5, kernel_size=5))
    energy: PredictorConfig = field(default_factory=PredictorConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.duration, DurationPredictorConfig):  # a plain PredictorConfig given in code
            self.duration = DurationPredictorConfig(**vars(self.duration))
        if self.level not in ("token", "frame"):
            raise ValueError(f"level must be 'token' or 'frame', got {self.level!r}")
        if self.bins < 2:
            raise ValueError("bins must be >= 2")
        if len(self.quantised_range) != 2 or self.quantised_range[0] >= self.quantised_range[1]:
            raise ValueError("quantised_range must be [low, high] with low < high")


class _VarianceEmbedding(nn.Module):
    """Continuous (conv k=1) or quantised (bucketize + lookup) embedding of a scalar track."""

    def __init__(self, dim: int, quantised: bool, bins: int, value_range: List[float]) -> None:
        super().__init__()
        self.quantised = quantised
        if quantised:
            self.register_buffer("boundaries", torch.linspace(value_range[0], value_range[1], bins - 1))
            self.table = nn.Embedding(bins, dim)
        else:
            self.conv = Conv1dT(1, dim, 1)

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.quantised:
            emb = self.table(torch.bucketize(values.contiguous(), self.boundaries))
            return emb * mask.unsqueeze(-1).to(emb.dtype)
        return self.conv(values.unsqueeze(-1), mask) * mask.unsqueeze(-1).to(values.dtype)


class VarianceAdaptor(nn.Module):
    """Duration/pitch/energy prediction and length regulation (FastSpeech 2 Sec. 2.3)."""

    def __init__(self, conf: VarianceAdaptorConfig, dim: int) -> None:
        super().__init__()
        self.conf = conf
        self.level = conf.level

        def predictor(p: PredictorConfig) -> VariancePredictor:
            return VariancePredictor(dim, p.channels, p.kernel_size, p.layers, p.dropout, conf.separable)

        d = conf.duration
        self.duration_predictor: nn.Module = (
            MoEDurationPredictor(dim, d.channels, d.kernel_size, d.layers, d.dropout, conf.separable, d.experts)
            if d.kind == "moe" else predictor(d)
        )
        quantised = conf.level == "frame"
        self.pitch_predictor = predictor(conf.pitch) if conf.use_pitch else None
        self.pitch_embedding = _VarianceEmbedding(dim, quantised, conf.bins, conf.quantised_range) if conf.use_pitch else None
        self.energy_predictor = predictor(conf.energy) if conf.use_energy else None
        self.energy_embedding = _VarianceEmbedding(dim, quantised, conf.bins, conf.quantised_range) if conf.use_energy else None
        self.length_regulator = LengthRegulator()
        # Normalisation stats of the targets: log-F0 mean/std and energy mean/std.
        self.register_buffer("pitch_stats", torch.tensor([0.0, 1.0]))
        self.register_buffer("energy_stats", torch.tensor([0.0, 1.0]))

    def set_stats(self, pitch_mean: float, pitch_std: float, energy_mean: float, energy_std: float) -> None:
        """Store the training-set stats of log-F0 and energy (used by the inference controls)."""
        self.pitch_stats.copy_(torch.tensor([pitch_mean, max(pitch_std, 1e-5)]))
        self.energy_stats.copy_(torch.tensor([energy_mean, max(energy_std, 1e-5)]))

    def shift_pitch(self, pitch: torch.Tensor, semitones: float) -> torch.Tensor:
        """Normalised log-F0 raised by ``semitones`` (F0 × 2^(s/12))."""
        return pitch + semitones * math.log(2.0) / 12.0 / self.pitch_stats[1]

    def scale_energy(self, energy: torch.Tensor, scale: float) -> torch.Tensor:
        """Normalised energy of ``scale ×`` the de-normalised energy."""
        mean, std = self.energy_stats[0], self.energy_stats[1]
        return ((energy * std + mean) * scale - mean) / std

    def _variance(
        self, which: str, hidden: torch.Tensor, mask: torch.Tensor, target: Optional[torch.Tensor],
        out: Dict[str, torch.Tensor], pitch_shift: float, energy_scale: float,
    ) -> torch.Tensor:
        predictor = getattr(self, f"{which}_predictor")
        embedding = getattr(self, f"{which}_embedding")
        if predictor is None:
            return hidden
        source = hidden.detach() if self.conf.stop_gradient else hidden
        pred = predictor(source, mask)
        out[f"{which}_pred"] = pred
        value = target if target is not None else pred
        if which == "pitch" and pitch_shift:
            value = self.shift_pitch(value, pitch_shift) * mask.to(value.dtype)
        if which == "energy" and energy_scale != 1.0:
            value = self.scale_energy(value, energy_scale) * mask.to(value.dtype)
        out[f"{which}_used"] = value
        return hidden + embedding(value, mask)

    def _log_durations(
        self, source: torch.Tensor, token_mask: torch.Tensor, durations: Optional[torch.Tensor], out: Dict[str, torch.Tensor],
    ) -> torch.Tensor:
        """Predicted ``log(d + 1)``; a mixture of experts also puts ``duration_gate`` ``(batch, K)`` in ``out``
        and, with target durations and ``gate_boundaries``, ``duration_gate_loss`` (weighted)."""
        if not isinstance(self.duration_predictor, MoEDurationPredictor):
            log_dur = self.duration_predictor(source, token_mask)
        else:
            moe = self.duration_predictor(source, token_mask)
            log_dur = moe.log_duration
            out["duration_gate"] = moe.gate
            d = self.conf.duration
            if durations is not None and d.gate_boundaries:
                classes = speaking_rate_classes(durations, token_mask, d.gate_boundaries)
                out["duration_gate_loss"] = d.gate_loss_weight * gate_loss(moe.gate, classes)
        out["log_duration_pred"] = log_dur
        return log_dur

    def forward(
        self,
        hidden: torch.Tensor,
        token_mask: torch.Tensor,
        durations: Optional[torch.Tensor] = None,
        pitch: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
        alpha: float = 1.0,
        pitch_shift: float = 0.0,
        energy_scale: float = 1.0,
        max_frames: Optional[int] = None,
    ) -> Dict[str, torch.Tensor]:
        """Return ``hidden`` at frame rate, ``frame_mask``, ``durations`` (given or predicted),
        ``scaled_durations`` (after ``alpha``, what the length regulator used) and the predictions.

        Args:
            hidden: encoder output ``(batch, T_text, dim)``; ``token_mask`` True at valid tokens.
            durations: ground-truth frames per token (training); predicted when ``None``.
            pitch, energy: normalised targets at the adaptor's level (token or frame).
            alpha: FastSpeech length-regulator factor (2.0 = twice as many frames).
        """
        out: Dict[str, torch.Tensor] = {}
        log_dur = self._log_durations(hidden.detach() if self.conf.stop_gradient else hidden, token_mask, durations, out)
        if durations is None:
            durations = torch.clamp(torch.round(torch.exp(log_dur) - 1.0), min=0).long()
            durations = durations * token_mask.long()
            empty = durations.sum(dim=1) == 0
            if bool(empty.any()):
                durations[empty] = token_mask[empty].long()
        if self.level == "token":
            hidden = self._variance("pitch", hidden, token_mask, pitch, out, pitch_shift, energy_scale)
            hidden = self._variance("energy", hidden, token_mask, energy, out, pitch_shift, energy_scale)
        scaled = scale_durations(durations, alpha)
        frames, frame_lengths = self.length_regulator(hidden, scaled, 1.0, max_frames)
        frame_mask = lengths_to_mask(frame_lengths, frames.size(1))
        if self.level == "frame":
            frames = self._variance("pitch", frames, frame_mask, pitch, out, pitch_shift, energy_scale)
            frames = self._variance("energy", frames, frame_mask, energy, out, pitch_shift, energy_scale)
        out.update(hidden=frames, frame_mask=frame_mask, frame_lengths=frame_lengths, durations=durations, scaled_durations=scaled)
        return out
