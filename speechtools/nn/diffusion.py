"""Denoising diffusion with a data-dependent Gaussian prior (PriorGrad, Lee et al., ICLR 2022).

DDPM (Ho et al., NeurIPS 2020) diffuses data towards N(0, I); PriorGrad towards N(μ, Σ) with
μ and diagonal Σ = diag(σ²) computed from the conditioning data (the vocoder: μ = 0 and σ from
each frame's energy; the acoustic model: each phoneme's mean and standard deviation of mel).
With ``x = x0 − μ`` and ``ε = σ·z``, ``z ~ N(0, I)`` (so ``ε ~ N(0, Σ)``):

* forward (Eq. 2 / DDPM Eq. 4): ``x_t = sqrt(ᾱ_t)·x + sqrt(1 − ᾱ_t)·ε`` (:func:`q_sample`);
* loss (PriorGrad Eq. 6): ``‖ε − ε̂‖²_{Σ⁻¹}`` = mean over elements of ``((ε̂ − ε)/σ)²``
  (:func:`prior_weighted_loss`);
* reverse step (DDPM Alg. 2 with the prior's noise): ``x_{t−1} = (x_t − β_t/sqrt(1 − ᾱ_t)·ε̂)/sqrt(α_t)
  + sqrt(β̃_t)·σ·z`` with ``β̃_t = β_t(1 − ᾱ_{t−1})/(1 − ᾱ_t)`` and no noise at the last step
  (:func:`reverse_step`); sampling starts from ``x_T = σ·z`` and returns ``x_0 + μ`` (:func:`sample`).

σ = 1 and μ = 0 give DDPM exactly: the N(0, I) baselines (DiffWave, a Grad-TTS-style decoder)
are the same code with ``prior: standard``. Fast sampling uses a short β list of its own and
conditions the network on the training step whose noise level matches each fast step
(:func:`aligned_steps`, DiffWave's fast-sampling alignment). Schedules are kept in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import torch


@dataclass(frozen=True)
class NoiseSchedule:
    """β_1..β_T and what follows from them (index ``t`` = 0..T−1 is the paper's step t + 1)."""

    betas: torch.Tensor

    def __post_init__(self) -> None:
        b = self.betas
        if b.dim() != 1 or b.numel() == 0 or not bool(((b > 0) & (b < 1)).all()):
            raise ValueError("betas must be a non-empty 1-D list of values in (0, 1)")

    @classmethod
    def linear(cls, num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.05) -> "NoiseSchedule":
        """``num_steps`` βs evenly spaced from ``beta_start`` to ``beta_end`` (the reference's training schedules)."""
        return cls(torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64))

    @classmethod
    def from_list(cls, betas: Sequence[float]) -> "NoiseSchedule":
        """An explicit β list (the reference's fast inference schedules, e.g. T = 6: 1e-4 … 0.5)."""
        return cls(torch.tensor(list(betas), dtype=torch.float64))

    @property
    def num_steps(self) -> int:
        return self.betas.numel()

    @property
    def alphas(self) -> torch.Tensor:
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> torch.Tensor:
        """ᾱ_t = Π_{s ≤ t} α_s."""
        return torch.cumprod(self.alphas, dim=0)

    @property
    def posterior_variances(self) -> torch.Tensor:
        """β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t), with ᾱ_0 = 1 before the first step (so β̃ = 0 there)."""
        previous = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bars[:-1]])
        return self.betas * (1.0 - previous) / (1.0 - self.alpha_bars)


def _gather(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values[t]`` shaped ``(B, 1, ..., 1)`` to broadcast against ``like`` (B, ...), in its dtype and device."""
    picked = values.to(like.device)[t.to(like.device)].to(like.dtype)
    return picked.view(-1, *([1] * (like.dim() - 1)))


def q_sample(x0: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule, sigma: torch.Tensor | float = 1.0,
             mu: torch.Tensor | float = 0.0, z: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Noised data ``x_t − μ`` at steps ``t`` (B,) and the prior noise ``ε = σ·z`` it holds (PriorGrad Eq. 2).

    ``sigma`` and ``mu`` broadcast against ``x0``; ``z`` defaults to standard normal noise.
    """
    if z is None:
        z = torch.randn_like(x0)
    eps = sigma * z
    x_t = _gather(schedule.alpha_bars.sqrt(), t, x0) * (x0 - mu) + _gather((1.0 - schedule.alpha_bars).sqrt(), t, x0) * eps
    return x_t, eps


def prior_weighted_loss(eps_hat: torch.Tensor, eps: torch.Tensor, sigma: torch.Tensor | float = 1.0,
                        mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``‖ε − ε̂‖²_{Σ⁻¹}`` per element: the mean of ``((ε̂ − ε)/σ)²`` over valid elements (PriorGrad Eq. 6).

    ``mask`` (broadcastable to ``eps``, True where valid) excludes padding; σ = 1 is DDPM's loss.
    """
    err = ((eps_hat - eps) / sigma) ** 2
    if mask is None:
        return err.mean()
    weights = mask.to(err.dtype).expand_as(err)
    return (err * weights).sum() / weights.sum().clamp(min=1.0)


def reverse_step(x_t: torch.Tensor, t: int, eps_hat: torch.Tensor, schedule: NoiseSchedule,
                 sigma: torch.Tensor | float = 1.0, z: Optional[torch.Tensor] = None) -> torch.Tensor:
    """One ancestral step ``x_t → x_{t−1}`` (relative to μ) given the predicted prior noise ``ε̂``.

    ``(x_t − β_t/sqrt(1 − ᾱ_t)·ε̂)/sqrt(α_t) + sqrt(β̃_t)·σ·z``; ``z`` defaults to standard normal
    noise, and no noise is added at the last step (t = 0).
    """
    beta, alpha, alpha_bar = (float(v[t]) for v in (schedule.betas, schedule.alphas, schedule.alpha_bars))
    mean = (x_t - beta / (1.0 - alpha_bar) ** 0.5 * eps_hat) / alpha ** 0.5
    if t == 0:
        return mean
    if z is None:
        z = torch.randn_like(x_t)
    return mean + float(schedule.posterior_variances[t]) ** 0.5 * sigma * z


def aligned_steps(train: NoiseSchedule, infer: NoiseSchedule) -> torch.Tensor:
    """For each inference step, the (fractional) training step whose noise level matches it.

    DiffWave's fast sampling: a network trained on ``train`` is conditioned on the training step
    ``t`` with ``sqrt(ᾱ_t)`` equal to the inference schedule's, interpolated linearly between
    neighbouring steps (and clamped to the training range). Returns ``(infer.num_steps,)`` float32.
    """
    train_levels = train.alpha_bars.sqrt()
    out = []
    for level in infer.alpha_bars.sqrt().tolist():
        if level >= float(train_levels[0]):
            out.append(0.0)
            continue
        if level <= float(train_levels[-1]):
            out.append(float(train.num_steps - 1))
            continue
        t = int(torch.nonzero(train_levels >= level)[-1])
        hi, lo = float(train_levels[t]), float(train_levels[t + 1])
        out.append(t + (hi - level) / (hi - lo))
    return torch.tensor(out, dtype=torch.float32)


Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``ε̂ = denoiser(x_t, step)``: the network with its conditioning bound; ``step`` is ``(B,)`` float."""


def sample(denoiser: Denoiser, shape: Sequence[int], schedule: NoiseSchedule, sigma: torch.Tensor | float = 1.0,
           mu: torch.Tensor | float = 0.0, steps: Optional[torch.Tensor] = None,
           generator: Optional[torch.Generator] = None, device: Optional[torch.device] = None) -> torch.Tensor:
    """Draw ``x_0`` by ancestral sampling from ``x_T = σ·z`` (N(μ, Σ) after adding μ) through ``schedule``.

    ``steps``: the step index the network is conditioned on at each of ``schedule``'s steps
    (default: the step itself; with a fast schedule, :func:`aligned_steps`).
    """
    device = device or (sigma.device if isinstance(sigma, torch.Tensor) else torch.device("cpu"))
    steps = torch.arange(schedule.num_steps, dtype=torch.float32) if steps is None else steps
    x = sigma * torch.randn(*shape, generator=generator, device=device)
    for t in range(schedule.num_steps - 1, -1, -1):
        eps_hat = denoiser(x, steps[t].expand(shape[0]).to(device))
        z = torch.randn(*shape, generator=generator, device=device) if t > 0 else None
        x = reverse_step(x, t, eps_hat, schedule, sigma, z)
    return x + mu
