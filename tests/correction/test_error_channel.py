"""Error channel estimated from (ASR output, reference) pairs, and noising with it."""

from collections import Counter
from typing import Optional

import numpy as np
import pytest

from speechtools.correction.error_channel import ChannelNoiser, ErrorChannel
from speechtools.correction.noising import NoiseConfig, Noiser
from speechtools.errors import UserError


def _pairs(*lines: str):
    return [(h.split(), r.split()) for h, r in (line.split("|") for line in lines)]


def _uniform(words, conf: Optional[NoiseConfig] = None) -> Noiser:
    return Noiser({w: [w + "x"] for w in words}, Counter({w: 1 for w in words}), conf or NoiseConfig())


def test_channel_counts_substitutions_and_deletions_per_reference_unit() -> None:
    channel = ErrorChannel.from_pairs(_pairs("the cat sat|a cat sat on"))
    assert channel.counts == Counter({"a": 1, "cat": 1, "sat": 1, "on": 1})
    assert channel.errors == {"a": Counter({("the",): 1}), "on": Counter({(): 1})}
    assert channel.error_rate == pytest.approx(0.5)


def test_an_insertion_is_one_erroneous_span_of_two_units() -> None:
    channel = ErrorChannel.from_pairs(_pairs("a big cat|a cat"))
    (unit, spans), = channel.errors.items()
    (span, count), = spans.items()
    assert count == 1 and len(span) == 2 and "big" in span and unit in span
    assert channel.error_rate == pytest.approx(0.5)


def test_empty_references_are_skipped_and_all_empty_is_a_user_error() -> None:
    assert ErrorChannel.from_pairs(_pairs("x|", "a|a")).counts == Counter({"a": 1})
    with pytest.raises(UserError, match="pairs.tsv"):
        ErrorChannel.from_pairs(_pairs("x|"), source="pairs.tsv")


def test_error_probability_is_smoothed_towards_the_global_rate() -> None:
    # "a" seen 4 times, wrong once; "b" seen 4 times, never wrong: g = 1/8
    channel = ErrorChannel.from_pairs(_pairs("the b|a b", "a b|a b", "a b|a b", "a b|a b"))
    noiser = ChannelNoiser(channel, _uniform(["a", "b"]), prior=5.0)
    g = 1 / 8
    assert noiser.error_probability("a") == pytest.approx((1 + 5 * g) / (4 + 5))
    assert noiser.error_probability("b") == pytest.approx((0 + 5 * g) / (4 + 5))
    assert noiser.error_probability("never-seen") == pytest.approx(g)


def test_noising_reproduces_the_observed_realisations() -> None:
    # "a" is heard as "the" 3 times in 4 and dropped once; "cat" is always right
    channel = ErrorChannel.from_pairs(_pairs("the cat|a cat", "the cat|a cat", "the cat|a cat", "cat|a cat"))
    noiser = ChannelNoiser(channel, _uniform(["a", "cat"]), prior=1e-6)
    out = noiser.noise(["a", "cat"] * 4000, np.random.default_rng(0))
    counts = Counter(out)
    assert counts["cat"] == 4000 and counts["a"] == 0
    assert counts["the"] / 4000 == pytest.approx(0.75, abs=0.03)
    assert len(out) - 4000 == counts["the"]


def test_unseen_units_fall_back_to_the_uniform_noise_at_the_global_rate() -> None:
    channel = ErrorChannel.from_pairs(_pairs("the cat|a cat"))
    words = [f"w{k}" for k in range(50)]
    conf = NoiseConfig(p_sub=1.0, p_ins_left=0, p_ins_right=0, p_del=0, p_random_sub=0.0)
    noiser = ChannelNoiser(channel, _uniform(words, conf))
    units = [words[k % 50] for k in range(20000)]
    out = noiser.noise(units, np.random.default_rng(1))
    changed = [b for a, b in zip(units, out) if a != b]
    assert len(changed) / len(units) == pytest.approx(0.5, abs=0.015)
    assert all(b.endswith("x") for b in changed)


def test_channel_noise_is_deterministic_for_a_seed() -> None:
    channel = ErrorChannel.from_pairs(_pairs("the cat sat|a cat sat on", "cat is|cats is"))
    noiser = ChannelNoiser(channel, _uniform(["a", "cat", "sat", "on", "is"]))
    units = ["a", "cat", "sat", "on", "is"] * 100
    a = noiser.noise(units, np.random.default_rng(5))
    assert a == noiser.noise(units, np.random.default_rng(5)) != noiser.noise(units, np.random.default_rng(6))


def test_prior_must_be_positive() -> None:
    with pytest.raises(UserError):
        ChannelNoiser(ErrorChannel.from_pairs(_pairs("a|a")), _uniform(["a"]), prior=0)
