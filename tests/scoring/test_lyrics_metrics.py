"""Lyrics metrics on worked examples: rhyme accuracy, rhyme density, Combo-N, distinct-n."""

from __future__ import annotations

from pathlib import Path

import pytest

from speechtools.music.lyrics import Line, Song, read_lyrics
from speechtools.music.rhyme import EnglishRhymes, MandarinFinals
from speechtools.scoring.lyrics import distinct_n, score_songs, scores_json, scores_table, shared_run


def song(*lines: str) -> Song:
    return Song([Line(list(text), [False] * len(text)) for text in lines])


def test_mandarin_worked_example() -> None:
    s = song("城市的光", "新的篇章", "像在歌唱", "走向远方", "心里发烫的天")
    scores = score_songs([s], MandarinFinals())
    # pairs: (光,章)=ang ang / 的,篇 e an -> 1; (章,唱) ang ang / 篇,歌 an e -> 1;
    # (唱,方) ang ang / 歌,远 e an -> 1; (方,天) ang an -> 0
    assert scores.pairs == 4
    assert scores.rhyme_accuracy == pytest.approx(3 / 4)
    assert scores.rhyme_density == pytest.approx(3 / 4)
    assert scores.combo[2] == 0.0
    two = score_songs([song("我们的歌", "他们的歌")], MandarinFinals())
    # 歌/歌 e, 的/的 e, 们/们 en, 我 o vs 他 a -> run 3
    assert two.rhyme_density == 3 and two.combo[2] == 1.0 and two.combo[3] == 1.0 and two.combo[4] == 0.0


def test_pairs_never_cross_songs_and_unk_never_rhymes() -> None:
    scores = score_songs([song("光"), song("章")], MandarinFinals())
    assert scores.pairs == 0 and scores.rhyme_accuracy == 0.0
    assert score_songs([song("嗯", "嗯")], MandarinFinals()).rhyme_accuracy == 0.0
    assert shared_run(["UNK"], ["UNK"]) == 0 and shared_run(["a", "b", "c"], ["a", "b", "d"]) == 2
    # punctuation is skipped: the last rhyming characters are compared
    assert score_songs([song("城市的光，", "篇章")], MandarinFinals()).rhyme_accuracy == 1.0


def test_english_worked_example(tmp_path: Path) -> None:
    path = tmp_path / "en.txt"
    path.write_text("The cat sat on the mat\nHe wore a hat\nA table\nI was able\n", encoding="utf-8")
    scores = score_songs(read_lyrics(path, "en"), EnglishRhymes())
    # mat/hat AE T (then "the" AH vs "a" AH -> run 2), hat/table no, table/able EY B AH L (then a / was: AH vs AA Z)
    assert scores.pairs == 3
    assert scores.rhyme_accuracy == pytest.approx(2 / 3)
    assert scores.rhyme_density == pytest.approx((2 + 0 + 1) / 3)


def test_distinct_n_brute_force() -> None:
    lines = [list("abab"), list("ab")]
    # unigrams a b a b a b: 2 distinct / 6; bigrams ab ba ab ab: 2 / 4
    assert distinct_n(lines, 1) == pytest.approx(2 / 6)
    assert distinct_n(lines, 2) == pytest.approx(2 / 4)
    assert distinct_n(lines, 5) == 0.0


def test_table_and_json_carry_every_metric() -> None:
    scores = score_songs([song("光", "章")], MandarinFinals())
    scores.perplexity = 12.5
    table = scores_table(scores)
    assert "rhyme acc." in table and "Combo-2" in table and "distinct-2" in table and "12.50" in table
    data = scores_json(scores)
    assert data["rhyme_accuracy"] == 1.0 and data["combo_2"] == 0.0 and data["perplexity"] == 12.5
