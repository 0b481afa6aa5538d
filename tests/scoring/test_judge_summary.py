"""Corpus figures of judged utterances: the Student-t interval by hand, undefined cases, the ASR judge's pooled WER."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from speechtools.audio.extract import Job
from speechtools.scoring.bootstrap import bootstrap_wer
from speechtools.scoring.judges.asr_wer import BOOTSTRAP_REPLICATIONS, AsrWer
from speechtools.scoring.judges.base import Audio, Judge, Metric, Utterance, judge_all, require
from speechtools.scoring.judges.summary import mean_interval, report_dict, summaries, summary_markdown, tsv_lines
from speechtools.errors import UserError

from .conftest import LJ_CLIP


def test_mean_and_t_interval_by_hand():
    # values 3, 3.5, 4, 4.5 (and one undefined): mean 3.75, s = sqrt(1.25 / 3) = 0.645497,
    # t(0.975, 3) = 3.182446 (tables), half width = 3.182446 * 0.645497 / 2 = 1.027130
    s = mean_interval([3.0, 3.5, math.nan, 4.0, 4.5])
    assert (s.value, s.n, s.n_undefined, s.ci_undefined) == (3.75, 4, 1, None)
    assert s.ci_low == pytest.approx(3.75 - 1.027130, abs=1e-5) and s.ci_high == pytest.approx(3.75 + 1.027130, abs=1e-5)


@pytest.mark.parametrize("values, why", [([4.0], "only one utterance has a value"),
                                         ([4.64, 4.64, 4.64], "all 3 values are 4.64 (zero variance)"),
                                         ([math.nan, math.nan], "no utterance has a value")])
def test_an_interval_from_one_value_or_equal_values_is_undefined(values, why):
    s = mean_interval(values)
    assert s.ci_undefined == why and math.isnan(s.ci_low) and math.isnan(s.ci_high)
    assert s.to_dict()["ci_low"] != s.to_dict()["ci_low"]  # NaN here, null in JSON (report.write_json)


class _Fixed(Judge):
    metrics = (Metric("x", "X", 1),)

    def __init__(self, values):
        self.values = values

    def score(self, utt):
        value = self.values[utt.uttid]
        return {"x": utt.undefined("X", "made up") if value is None else value}


def test_the_table_keeps_utterance_order_and_undefined_values():
    utts = [Utterance(u, Audio(Job(u, "unused"))) for u in ("b", "a", "c")]
    warnings = []
    table = judge_all([_Fixed({"a": 2.0, "b": 1.0, "c": None})], utts, warnings.append)
    assert table.ids == ["b", "a", "c"] and warnings == ["utterance c: X is undefined: made up"]
    sums = summaries(table)
    assert tsv_lines(table) == ["uttid\tx", "b\t1.000", "a\t2.000", "c\tnan"]
    assert summary_markdown(table, sums).splitlines()[2] == "|X|1.5 ± 6.4|[-4.9, 7.9]|2|1|"  # t(0.975, 1) = 12.706
    assert report_dict(table, sums)["utterances"]["c"] == {"x": math.nan}


def test_asr_wer_pools_errors_over_words_with_the_bootstrap_interval():
    heard = iter(["the cat sat", "a dog", "hello"])  # a recogniser's transcripts, in the order it is asked
    judge = AsrWer(lambda wav: next(heard), 16000)
    texts = {"u1": "The cat sat.", "u2": "The dog barked!", "u3": ""}
    utts = [Utterance(u, Audio(Job(u, str(LJ_CLIP))), text=texts[u]) for u in ("u1", "u2", "u3")]
    table = judge_all([judge], utts)
    assert table.values["asr_wer"][:2] == [0.0, pytest.approx(200 / 3)] and math.isnan(table.values["asr_wer"][2])
    s = summaries(table)["asr_wer"]
    # errors 0 + 2 over 3 + 3 words; u3 (an empty reference) has no WER and is left out of both
    assert (s.value, s.statistic, s.interval, s.n, s.n_undefined) == (pytest.approx(100 / 3), "pooled", "bootstrap", 2, 1)
    ci = bootstrap_wer(np.array([0, 2]), np.array([3, 3]), BOOTSTRAP_REPLICATIONS, seed=1)
    assert (s.ci_low, s.ci_high) == (ci.low, ci.high)
    # the machine listener's intelligibility rate: words heard right ("the cat sat"; "dog") over reference words
    assert table.values["asr_ir"][:2] == [100.0, pytest.approx(100 / 3)] and math.isnan(table.values["asr_ir"][2])
    ir = summaries(table)["asr_ir"]
    assert (ir.value, ir.n, ir.n_undefined) == (pytest.approx(400 / 6), 2, 1)
    ci = bootstrap_wer(np.array([3, 1]), np.array([3, 3]), BOOTSTRAP_REPLICATIONS, seed=1)
    assert (ir.ci_low, ir.ci_high) == (ci.low, ci.high)


def test_a_missing_optional_package_is_one_line_naming_the_extra(monkeypatch):
    for name in ("speechmos", "speechmos.dnsmos"):  # what an environment without the package imports
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(UserError) as exc:
        require("speechmos.dnsmos")
    assert str(exc.value) == "speechmos is not installed: pip install 'speechtools[eval]'"
