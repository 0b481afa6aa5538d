"""PriorGrad's acoustic model (Lee et al., ICLR 2022, arXiv 2106.06406, Sec. 3.3 / 4.2) on the FastSpeech 2 backbone.

A FastSpeech 2 encoder and variance adaptor (durations, token-level pitch and energy) produce
frame-rate hidden states; a diffusion decoder (:class:`DiffusionMelDecoder`, in place of the
linear mel head) generates the normalised mel from a Gaussian prior ``N(μ, diag σ²)``:

* ``prior: data`` (PriorGrad): ``μ``, ``σ`` are the mean and standard deviation of the training
  mel frames of each token class (computed by ``task: priorgrad_tts`` from the durations, in the
  z-normalised mel units of ``stats.npz``; tokens never seen in training get the global
  statistics), expanded to frames by the length regulator; ``σ`` is floored at
  ``prior_std_floor`` (0.1, the reference's floor, in those normalised units).
* ``prior: standard`` (the N(0, I) baseline, a Grad-TTS-style DDPM mel decoder): the same code
  with ``μ ≡ 0``, ``σ ≡ 1``, so a comparison of the two differs in the prior and nothing else.

Training (``mel`` given to :meth:`PriorGradAcoustic.forward`): a step ``t`` uniform in
``0..train_steps−1`` and noise ``ε = σ·z`` per utterance, ``x_t = sqrt(ᾱ_t)(x0 − μ) +
sqrt(1 − ᾱ_t)ε``, loss ``mean(((ε̂ − ε)/σ)²)`` over valid frames (``diffusion_loss``, PriorGrad
Eq. 6; :mod:`speechtools.nn.diffusion`) plus FastSpeech 2's duration, pitch and energy terms. The
noise is drawn in ``forward`` (so the denoiser runs inside the DDP wrapper); in eval mode
(validation, synthesis) it comes from a generator seeded with ``noise_seed``, so validation
losses are comparable across steps and synthesis is reproducible.

Inference (no ``mel``): ancestral sampling from ``x_T = μ + σ·z`` through the fast schedule of
``infer_steps`` steps (``fast_schedules``; the network is conditioned on the training step of
equal noise level, :func:`~speechtools.nn.diffusion.aligned_steps`) or, with ``infer_steps ==
train_steps``, through the full training chain. Schedules (T = 400, β linear 1e-4 → 0.05 for
training): 6 steps = the reference's ``[0.001, 0.01, 0.05, 0.1, 0.5, 0.8]``; the reference
grid-searched its 2- and 12-step schedules, we did not: ours are the 6-step chain merged and split
so that all three start at the same noise level (ᾱ_T = 0.0846) and visit nested noise levels:
2 steps merge consecutive triples (``1 − β' = Π(1 − β)``: ``[0.0604405, 0.91]``), 12 steps split
each step in two of equal noise (``1 − β' = sqrt(1 − β)``).

Paper sizes (``conf/tts/priorgrad_acoustic.yaml``): 4 FFT encoder blocks (256, 2 heads, kernel 9,
dropout 0.2); no FFT decoder (``fft_decoder: false``: the diffusion decoder is the decoder,
conditioned on the length-regulated encoder output); decoder 12 residual layers × 128 channels,
kernel 3, dilation 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Optional, Tuple

import torch
from torch import nn

from speechtools.config import check_ranges
from speechtools.errors import ConfigError
from speechtools.models import MODELS
from speechtools.models.fastspeech2 import FastSpeech2, FastSpeech2Config
from speechtools.models.nar_tts import variance_predictor_losses
from speechtools.models.task_info import MelPriorTTSInfo
from speechtools.nn.conv import masked_fill_padding
from speechtools.nn.diffusion import NoiseSchedule, aligned_steps, prior_weighted_loss, q_sample, sample
from speechtools.nn.fft_block import FFTStack
from speechtools.nn.length_regulator import regulate_length
from speechtools.nn.mel_denoiser import MelDenoiser, MelDenoiserConfig

REFERENCE_FAST_6 = [0.001, 0.01, 0.05, 0.1, 0.5, 0.8]


def _fast_schedules() -> Dict[str, List[float]]:
    return {
        "2": [0.0604405, 0.91],
        "6": list(REFERENCE_FAST_6),
        "12": [0.000500125, 0.000500125, 0.00501256, 0.00501256, 0.0253206, 0.0253206,
               0.0513167, 0.0513167, 0.292893, 0.292893, 0.552786, 0.552786],
    }


@dataclass
class PriorGradAcousticConfig(FastSpeech2Config):
    """``model_conf`` of ``model: priorgrad_acoustic``: :class:`FastSpeech2Config` plus the diffusion decoder.

    Attributes:
        prior: ``data`` (per-token mel mean/std from the task) or ``standard`` (N(0, I)).
        prior_std_floor: lower bound of the prior's σ, in normalised mel units (reference: 0.1).
        fft_decoder: run the FFT ``decoder`` stack before the diffusion decoder (the reference has none).
        diffusion: sizes of the noise predictor (:class:`MelDenoiserConfig`; 12 × 128, kernel 3).
        train_steps, beta_start, beta_end: the linear training schedule (T = 400, 1e-4 → 0.05).
        infer_steps: sampling steps: a key of ``fast_schedules`` or ``train_steps`` (the full chain).
        fast_schedules: β lists of the fast samplers by number of steps (keys are the step counts).
        noise_seed: seed of the noise drawn in eval mode without a ``generator`` (validation losses
            comparable across steps, synthesis reproducible); training draws from the global generator.
    """

    prior: Literal["data", "standard"] = "data"
    prior_std_floor: float = 0.1
    fft_decoder: bool = False
    diffusion: MelDenoiserConfig = field(default_factory=MelDenoiserConfig)
    train_steps: int = 400
    beta_start: float = 1e-4
    beta_end: float = 0.05
    infer_steps: int = 6
    fast_schedules: Dict[str, List[float]] = field(default_factory=_fast_schedules)
    noise_seed: int = 1234

    def __post_init__(self) -> None:
        super().__post_init__()
        check_ranges(self, positive=("train_steps", "infer_steps"))
        if not self.prior_std_floor > 0:
            raise ValueError(f"prior_std_floor must be > 0, got {self.prior_std_floor}")
        if not 0 < self.beta_start <= self.beta_end < 1:
            raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {self.beta_start}, {self.beta_end}")
        schedules: Dict[str, List[float]] = {}
        for key, betas in self.fast_schedules.items():
            if not str(key).isdigit() or int(key) != len(betas):
                raise ValueError(f"fast_schedules.{key}: the key must be the number of βs in its list ({len(betas)})")
            if not all(0.0 < float(b) < 1.0 for b in betas):
                raise ValueError(f"fast_schedules.{key}: every β must lie in (0, 1)")
            schedules[str(int(key))] = [float(b) for b in betas]
        self.fast_schedules = schedules
        check_infer_steps(self.infer_steps, self.train_steps, schedules)


def check_infer_steps(steps: int, train_steps: int, fast_schedules: Dict[str, List[float]]) -> None:
    """``steps`` must name a fast schedule or the full training chain."""
    if steps != train_steps and str(steps) not in fast_schedules:
        choices = sorted({int(k) for k in fast_schedules} | {train_steps})
        raise ValueError(f"infer_steps must be one of {choices} (fast_schedules keys or train_steps), got {steps}")


class PassThroughStack(nn.Module):
    """A decoder stack that returns its input (``fft_decoder: false``)."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        return x


class DiffusionMelDecoder(nn.Module):
    """A diffusion mel head: noise predictor, training schedule and fast samplers.

    ``forward(hidden, mask, mu=0, sigma=1)`` samples mel frames (with the defaults, from N(0, I):
    the mel-head interface ``forward(hidden, mask) -> mel``); :meth:`noise_prediction` gives the
    training pair ``(ε, ε̂)``.
    """

    def __init__(self, conf: PriorGradAcousticConfig, n_mels: int) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.denoiser = MelDenoiser(n_mels, conf.dim, conf.train_steps, conf.diffusion)
        self.train_schedule = NoiseSchedule.linear(conf.train_steps, conf.beta_start, conf.beta_end)
        self.fast_schedules = dict(conf.fast_schedules)
        self.noise_seed = conf.noise_seed
        self._infer_steps = conf.infer_steps

    @property
    def infer_steps(self) -> int:
        """Sampling steps used by :meth:`forward` (a key of ``fast_schedules`` or ``train_steps``)."""
        return self._infer_steps

    @infer_steps.setter
    def infer_steps(self, steps: int) -> None:
        check_infer_steps(int(steps), self.train_schedule.num_steps, self.fast_schedules)
        self._infer_steps = int(steps)

    def inference_schedule(self) -> Tuple[NoiseSchedule, Optional[torch.Tensor]]:
        """The sampling schedule of :attr:`infer_steps` and the training step each of its steps is conditioned on."""
        if self._infer_steps == self.train_schedule.num_steps:
            return self.train_schedule, None
        fast = NoiseSchedule.from_list(self.fast_schedules[str(self._infer_steps)])
        return fast, aligned_steps(self.train_schedule, fast)

    def noise_generator(self, generator: Optional[torch.Generator], device: torch.device) -> Optional[torch.Generator]:
        """``generator`` if given; else ``None`` (the global generator, which the trainer checkpoints) in
        training mode, and a fresh generator seeded with ``noise_seed`` in eval mode."""
        if generator is None and not self.training:
            return torch.Generator(device=device).manual_seed(self.noise_seed)
        return generator

    def noise_prediction(
        self, hidden: torch.Tensor, mask: torch.Tensor, mel: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor,
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(ε, ε̂)`` for ``mel`` noised at a random training step per utterance (PriorGrad Alg. 1).

        Draws from :meth:`noise_generator`.
        """
        generator = self.noise_generator(generator, mel.device)
        t = torch.randint(0, self.train_schedule.num_steps, (mel.size(0),), generator=generator, device=mel.device)
        z = torch.randn(mel.shape, generator=generator, device=mel.device, dtype=mel.dtype)
        x_t, eps = q_sample(mel, t, self.train_schedule, sigma, mu, z)
        eps_hat = self.denoiser(masked_fill_padding(x_t, mask), t.float(), hidden, mask)
        return masked_fill_padding(eps, mask), eps_hat

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, mu: torch.Tensor | float = 0.0,
                sigma: torch.Tensor | float = 1.0, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Sample ``(batch, frames, n_mels)`` mel frames from ``N(μ, diag σ²)`` through :meth:`inference_schedule`; 0 at padding.

        Noise from :meth:`noise_generator` (in eval mode, without ``generator``: the same draws every call).
        """
        schedule, steps = self.inference_schedule()

        def denoise(x: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
            return self.denoiser(x, step, hidden, mask)

        shape = (hidden.size(0), hidden.size(1), self.n_mels)
        generator = self.noise_generator(generator, hidden.device)
        mel = sample(denoise, shape, schedule, sigma, mu, steps, generator, device=hidden.device)
        return masked_fill_padding(mel, mask)


@MODELS.register("priorgrad_acoustic", config=PriorGradAcousticConfig)
class PriorGradAcoustic(FastSpeech2):
    """FastSpeech 2 encoder and variance adaptor with a PriorGrad diffusion mel decoder (see the module docstring).

    ``prior_mean`` / ``prior_std`` ``(vocab_size, n_mels)`` are non-persistent buffers set by
    :meth:`build_model` from the task (``prior: data``; σ floored) or left at 0 / 1
    (``prior: standard``): the prior is an asset of the model directory (``mel_prior.npz``,
    checksummed), not part of ``model.pt``, so it always comes from the data the task describes.
    """

    mel_head: DiffusionMelDecoder

    def __init__(self, conf: PriorGradAcousticConfig, vocab_size: int, n_mels: int = 80, n_speakers: int = 1) -> None:
        super().__init__(conf, vocab_size, n_mels, n_speakers)
        self.register_buffer("prior_mean", torch.zeros(vocab_size, n_mels), persistent=False)
        self.register_buffer("prior_std", torch.ones(vocab_size, n_mels), persistent=False)

    @classmethod
    def decoder_stack(cls, conf: PriorGradAcousticConfig) -> nn.Module:
        return FFTStack(conf.decoder) if conf.fft_decoder else PassThroughStack()

    @classmethod
    def mel_head_module(cls, conf: PriorGradAcousticConfig, n_mels: int) -> DiffusionMelDecoder:
        return DiffusionMelDecoder(conf, n_mels)

    @classmethod
    def build_model(cls, conf: PriorGradAcousticConfig, task: MelPriorTTSInfo) -> "PriorGradAcoustic":  # type: ignore[override]
        """FastSpeech 2's construction rule, plus the task's per-token mel prior when ``prior: data``."""
        model = super().build_model(conf, task)
        if conf.prior == "data":
            if not callable(getattr(task, "mel_prior", None)):
                raise ConfigError("model_conf.prior 'data' needs a task that computes the per-token mel prior "
                                  "(task: priorgrad_tts), or set model_conf.prior=standard")
            model.set_prior(*task.mel_prior())
        return model  # type: ignore[return-value]

    def set_prior(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the per-token mel prior ``(vocab_size, n_mels)``; σ floored at ``prior_std_floor``."""
        mean, std = torch.as_tensor(mean, dtype=torch.float32), torch.as_tensor(std, dtype=torch.float32)
        if mean.shape != self.prior_mean.shape or std.shape != self.prior_std.shape:
            raise ValueError(f"the mel prior must be {tuple(self.prior_mean.shape)} (vocabulary × mel bins), "
                             f"got {tuple(mean.shape)} and {tuple(std.shape)}")
        self.prior_mean.copy_(mean)
        self.prior_std.copy_(std.clamp(min=self.conf.prior_std_floor))

    @property
    def infer_steps(self) -> int:
        """Sampling steps at inference (``model_conf.infer_steps``; settable: 2, 6, 12 or ``train_steps``)."""
        return self.mel_head.infer_steps

    @infer_steps.setter
    def infer_steps(self, steps: int) -> None:
        self.mel_head.infer_steps = steps

    def frame_prior(self, tokens: torch.Tensor, durations: torch.Tensor, frame_mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per-frame ``μ`` and ``σ`` ``(batch, frames, n_mels)``: the token rows expanded by ``durations``; 0 and 1 at padding."""
        rows = torch.cat([self.prior_mean[tokens], self.prior_std[tokens]], dim=-1)
        frames, _ = regulate_length(rows, durations, frame_mask.size(1))
        mu, sigma = frames[:, : frame_mask.size(1)].split(self.n_mels, dim=-1)
        valid = frame_mask.unsqueeze(-1)
        return mu * valid.to(mu.dtype), torch.where(valid, sigma, torch.ones_like(sigma))

    def forward(self, tokens: torch.Tensor, token_lengths: torch.Tensor, *, mel: Optional[torch.Tensor] = None,  # type: ignore[override]
                generator: Optional[torch.Generator] = None, **inputs: Any) -> Dict[str, torch.Tensor]:
        """Training terms when the target ``mel`` is given, else sampled mels (other inputs: :meth:`NARTTS.decode`).

        Always returns the adaptor's outputs, ``token_mask`` and the per-frame prior
        ``prior_mean`` / ``prior_std``. With ``mel``: ``eps`` and ``eps_hat`` (for :meth:`loss`).
        Without: ``mel`` = ``mel_post``, sampled in :attr:`infer_steps` steps. Noise:
        ``generator`` if given, else the global generator in training mode and one seeded with
        ``noise_seed`` in eval mode (validation losses comparable across steps, synthesis reproducible).
        """
        out = self.decode(tokens, token_lengths, mel=mel, **inputs)
        frame_mask = out["frame_mask"]
        hidden = out.pop("decoded")
        mu, sigma = self.frame_prior(tokens, out["scaled_durations"], frame_mask)
        out["prior_mean"], out["prior_std"] = mu, sigma
        if mel is not None:
            if mel.size(1) != frame_mask.size(1):
                raise ValueError(f"the target mel has {mel.size(1)} frames, the durations give {frame_mask.size(1)}")
            out["eps"], out["eps_hat"] = self.mel_head.noise_prediction(hidden, frame_mask, mel, mu, sigma, generator)
        else:
            out["mel"] = out["mel_post"] = self.mel_head(hidden, frame_mask, mu, sigma, generator)
        return out

    def loss(  # type: ignore[override]
        self, out: Dict[str, torch.Tensor], mel: torch.Tensor, durations: torch.Tensor,
        pitch: Optional[torch.Tensor] = None, energy: Optional[torch.Tensor] = None, **unused: Any,
    ) -> Dict[str, torch.Tensor]:
        """``diffusion_loss`` (``mean(((ε̂ − ε)/σ)²)`` over valid frames) plus the variance adaptor's terms."""
        mask = out["frame_mask"].unsqueeze(-1)
        terms = {"diffusion_loss": prior_weighted_loss(out["eps_hat"], out["eps"], out["prior_std"], mask)}
        terms.update(variance_predictor_losses(out, durations, pitch, energy))
        terms["loss"] = sum(terms.values())  # type: ignore[assignment]
        return terms
