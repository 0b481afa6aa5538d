"""No quadratic or unbounded work on input size: each front-end step is timed on two input
sizes; doubling the input must less than triple the time (best of a few runs, so that a busy
machine does not fail the test), within an absolute limit that is safe on a slow CI machine."""

from __future__ import annotations

import time
from typing import Callable

from speechtools.text.english_normalizer import normalize_english
from speechtools.text.mandarin import normalize_mandarin


def assert_linear(run: Callable[[int], object], size: int, limit: float, repeat: int = 3, attempts: int = 3) -> None:
    """``run(2 * size)`` takes less than 3x ``run(size)`` and under ``limit`` seconds.

    The two sizes are timed alternately (best of ``repeat`` each), so a slow spell of the machine
    falls on both; a failed comparison is measured again, up to ``attempts`` times in all (work that
    grows faster than linearly fails every time, a passing load spike does not)."""
    for attempt in range(attempts):
        best = {size: float("inf"), 2 * size: float("inf")}
        for _ in range(repeat):
            for n in best:
                start = time.perf_counter()
                run(n)
                best[n] = min(best[n], time.perf_counter() - start)
        small, big = best[size], best[2 * size]
        if big < 3 * small + 0.005 or attempt == attempts - 1:
            break
    assert big < limit, f"{2 * size}: {big:.3f}s"
    assert big < 3 * small + 0.005, f"{size}: {small:.4f}s, {2 * size}: {big:.4f}s"


def test_english_normalization_of_long_numbers_is_linear() -> None:
    assert_linear(lambda n: normalize_english("7" * n), 20000, limit=1.5)
    assert_linear(lambda n: normalize_english("1" + "0" * n), 20000, limit=1.5)


def test_english_normalization_of_mixed_input_is_linear() -> None:
    unit = "1,2.3 $4 5% 6th a7 -8 1e9 \x1b[1m 3½, B.C. "
    assert_linear(lambda n: normalize_english(unit * (n // len(unit))), 20000, limit=1.5)
    assert_linear(lambda n: normalize_english(",000" * (n // 4)), 20000, limit=1.5)


def test_mandarin_normalization_is_linear() -> None:
    assert_linear(lambda n: normalize_mandarin("7" * n), 20000, limit=1.5)
    unit = "1,234.5元$6 7%2021年电话12345678 3½ -1,000 "
    assert_linear(lambda n: normalize_mandarin(unit * (n // len(unit))), 20000, limit=1.5)


def test_g2p_of_a_long_word_is_linear() -> None:
    from speechtools.text.english_g2p import EnglishG2P

    g2p = EnglishG2P(use_pos_tagger=False)
    assert_linear(lambda n: g2p.word("abstraction" * (n // 11)), 2000, limit=1.0)
    assert len(g2p.word("abstraction" * 400)) == 2 * len(g2p.word("abstraction" * 200))


def test_frontends_on_long_lines_are_linear() -> None:
    from speechtools.text.frontend import get_frontend

    en_phone = get_frontend("en_phone", use_pos_tagger=False)
    assert_linear(lambda n: en_phone.tokenize("7" * n), 5000, limit=1.5)
    zh_phone = get_frontend("zh_phone")
    assert_linear(lambda n: zh_phone.tokenize("我很好，你们在哪里。" * (n // 10)), 2000, limit=1.5)
    assert_linear(lambda n: en_phone.unspeakable("Привет мир 1,2 ★ " * (n // 17)), 10000, limit=1.5)


def test_assert_linear_still_fails_on_quadratic_work() -> None:
    import pytest

    with pytest.raises(AssertionError):
        assert_linear(lambda n: sum(range(n * n // 40)), 20000, limit=5.0, repeat=1)
