"""Sentence and clause splitting of long synthesis input."""

from speechtools.tts.text_split import split_sentences, split_tokens


def test_sentences_keep_abbreviations_and_quotes():
    text = 'Mr. Smith went home.  "Why?" she asked! It was 3 p.m. and late'
    assert split_sentences(text) == ['Mr. Smith went home.', '"Why?"', "she asked!", "It was 3 p.m. and late"]
    assert split_sentences("   ") == []


def test_token_chunks_cut_at_pauses_then_word_boundaries():
    tokens = ["A", "B", ",", "C", "<space>", "D", "E", "<space>", "F"]
    assert split_tokens(tokens, 20) == [tokens]
    assert split_tokens(tokens, 5) == [["A", "B", ","], ["C", "<space>", "D", "E"], ["F"]]
    chunks = split_tokens(["X"] * 7, 3)
    assert chunks == [["X"] * 3, ["X"] * 3, ["X"]]
