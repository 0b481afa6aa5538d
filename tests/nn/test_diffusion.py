"""The diffusion core (speechtools.nn.diffusion) against DDPM's closed forms and hand-worked values."""

from __future__ import annotations

import math

import pytest
import torch

from speechtools.nn.diffusion import NoiseSchedule, aligned_steps, prior_weighted_loss, q_sample, reverse_step, sample

HAND = NoiseSchedule.from_list([0.1, 0.2, 0.3])


def test_schedule_quantities_against_hand_computed_values() -> None:
    torch.testing.assert_close(HAND.alpha_bars, torch.tensor([0.9, 0.72, 0.504], dtype=torch.float64))
    # beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t): 0 at the first step, 0.2*0.1/0.28, 0.3*0.28/0.496
    torch.testing.assert_close(HAND.posterior_variances, torch.tensor([0.0, 0.02 / 0.28, 0.084 / 0.496], dtype=torch.float64))
    linear = NoiseSchedule.linear(50, 1e-4, 0.05)
    assert linear.num_steps == 50 and float(linear.betas[0]) == pytest.approx(1e-4) and float(linear.betas[-1]) == pytest.approx(0.05)
    closed = torch.tensor([math.prod(1 - b for b in linear.betas[: t + 1].tolist()) for t in range(50)], dtype=torch.float64)
    torch.testing.assert_close(linear.alpha_bars, closed)
    with pytest.raises(ValueError):
        NoiseSchedule.from_list([0.1, 1.0])


def test_with_identity_prior_the_forward_process_is_ddpm() -> None:
    gen = torch.Generator().manual_seed(0)
    x0, z = torch.randn(4, 7, generator=gen), torch.randn(4, 7, generator=gen)
    t = torch.tensor([0, 1, 2, 1])
    x_t, eps = q_sample(x0, t, HAND, z=z)
    abar = HAND.alpha_bars.float()[t][:, None]
    torch.testing.assert_close(x_t, abar.sqrt() * x0 + (1 - abar).sqrt() * z)
    assert torch.equal(eps, z)
    # with a prior: x_t - mu diffuses towards N(0, sigma^2) and the noise it holds is sigma * z
    sigma, mu = torch.full((4, 7), 0.5), torch.full((4, 7), 2.0)
    x_t, eps = q_sample(x0, t, HAND, sigma, mu, z)
    torch.testing.assert_close(eps, 0.5 * z)
    torch.testing.assert_close(x_t, abar.sqrt() * (x0 - 2.0) + (1 - abar).sqrt() * 0.5 * z)


def test_the_weighted_loss_on_a_worked_example() -> None:
    eps = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    eps_hat = torch.tensor([[0.0, -1.0], [0.5, 2.0]])
    sigma = torch.tensor([[1.0, 0.5], [2.0, 4.0]])
    # ((eps_hat - eps) / sigma)^2 = [1, 4, 0, 0.25]; mean 1.3125 = ||eps - eps_hat||^2_{Sigma^-1} / 4
    assert float(prior_weighted_loss(eps_hat, eps, sigma)) == pytest.approx(1.3125)
    assert float(prior_weighted_loss(eps_hat, eps)) == pytest.approx((1 + 1 + 0 + 4) / 4)  # sigma = 1: DDPM
    mask = torch.tensor([[True, True], [False, False]])
    assert float(prior_weighted_loss(eps_hat, eps, sigma, mask)) == pytest.approx(2.5)


@pytest.mark.parametrize("prior", ["standard", "data"])
def test_the_reverse_process_fed_the_true_noise_recovers_x0(prior: str) -> None:
    gen = torch.Generator().manual_seed(1)
    x0 = torch.randn(3, 11, generator=gen)
    sigma = torch.ones(3, 11) if prior == "standard" else torch.rand(3, 11, generator=gen) + 0.1
    mu = torch.zeros(3, 11) if prior == "standard" else torch.randn(3, 11, generator=gen)
    schedule = NoiseSchedule.linear(50)

    def oracle(x_t: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        t = int(step[0])
        abar = float(schedule.alpha_bars[t])
        return (x_t - abar ** 0.5 * (x0 - mu)) / (1 - abar) ** 0.5  # the noise x_t actually holds

    torch.testing.assert_close(sample(oracle, x0.shape, schedule, sigma, mu, generator=gen), x0, atol=1e-4, rtol=1e-4)
    # one step: the mean is DDPM's posterior mean of x_{t-1} given x_t and x0 (Ho et al. Eq. 7)
    t, x_t = 10, torch.randn(3, 11, generator=gen)
    step = reverse_step(x_t, t, oracle(x_t, torch.tensor([t])), schedule, sigma, torch.zeros(3, 11))
    abar, abar_prev, beta = (float(v) for v in (schedule.alpha_bars[t], schedule.alpha_bars[t - 1], schedule.betas[t]))
    posterior_mean = abar_prev ** 0.5 * beta / (1 - abar) * (x0 - mu) + (1 - beta) ** 0.5 * (1 - abar_prev) / (1 - abar) * x_t
    torch.testing.assert_close(step, posterior_mean, atol=1e-5, rtol=1e-5)


def test_fast_schedules_map_to_the_training_steps_of_equal_noise() -> None:
    train = NoiseSchedule.linear(50, 1e-4, 0.05)
    fast = NoiseSchedule.from_list([1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5])  # the reference's T = 6
    steps = aligned_steps(train, fast)
    assert steps.shape == (6,) and float(steps[0]) == 0.0
    assert bool((steps[1:] > steps[:-1]).all()) and float(steps[-1]) <= 49
    assert torch.equal(aligned_steps(train, train), torch.arange(50, dtype=torch.float32))  # a schedule maps onto itself
