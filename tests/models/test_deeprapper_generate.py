"""DeepRapper generation: the rhyme-boost rule, rhyme targets, reproducibility, prompt errors, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from speechtools.errors import UserError
from speechtools.models.deeprapper import DeepRapper, DeepRapperConfig
from speechtools.models.deeprapper_generate import (
    RhymeControl, SamplingConfig, generate_song, prompt_lines, rhyme_boost, rhyme_targets,
)
from speechtools.music.lyrics import SEP, build_vocab, read_lyrics
from speechtools.music.rhyme import MandarinFinals
from speechtools.scoring.lyrics import line_rhymes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "music" / "lyrics"
CONF = Path(__file__).resolve().parents[2] / "conf" / "music" / "deeprapper_tiny.yaml"


def test_rhyme_boost_changes_exactly_the_matching_candidates() -> None:
    torch.manual_seed(0)
    probs = torch.softmax(torch.randn(12), dim=0)
    match = torch.zeros(12, dtype=torch.bool)
    match[[3, 7]] = True
    alpha, sep, beat = 0.95, 5, 9
    out = rhyme_boost(probs, match, alpha, sep, None)
    expected = probs.clone()
    expected[[3, 7]] = alpha * probs[[3, 7]] + (1 - alpha)
    expected[sep] = 0.0
    torch.testing.assert_close(out, expected)
    untouched = [i for i in range(12) if i not in (3, 7, sep)]
    assert torch.equal(out[untouched], probs[untouched])  # bit for bit
    # with beats modelled, [BEAT] is boosted as well; α = 1 leaves matching tokens as they were
    with_beat = rhyme_boost(probs, match, alpha, sep, beat)
    assert with_beat[beat] == pytest.approx(float(alpha * probs[beat] + 1 - alpha))
    torch.testing.assert_close(rhyme_boost(probs, match, 1.0, sep, None)[[3, 7]], probs[[3, 7]])
    # α = 0: every matching token gets probability 1, so top-k picks among them first
    assert torch.all(rhyme_boost(probs, match, 0.0, sep, None)[[3, 7]] == 1.0)


def test_rhyme_targets() -> None:
    # lines in generation order (line end first); 0 = cannot rhyme, 1 = UNK (never a target)
    lines = [[5, 6, 7], [0, 8, 1, 9], [1, 4]]
    assert rhyme_targets(lines, 2, 1) == [set(), {4}]
    assert rhyme_targets(lines, 2, 2) == [{8}, {4}]
    assert rhyme_targets(lines, 3, 3) == [{5, 8}, {6, 4}, {7, 9}]


@pytest.fixture(scope="module")
def setup():  # type: ignore[no-untyped-def]
    songs = read_lyrics(FIXTURES / "beats_zh.txt", "zh")
    scheme = MandarinFinals()
    vocab = build_vocab(songs, scheme)
    conf = DeepRapperConfig(dim=32, layers=2, heads=2, ffn=64, dropout=0.0, max_length=128, max_sentences=16,
                            max_line_positions=40, max_beats=64, vocab_size=len(vocab.tokens), rhyme_count=vocab.rhyme_count)
    torch.manual_seed(0)
    return DeepRapper(conf).eval(), vocab, scheme


def run(setup, seed: int, control, beat_mode: str = "local", lines: int = 4, prompt: str = "夜色笼罩整座城市的光"):  # type: ignore[no-untyped-def]
    model, vocab, scheme = setup
    return generate_song(model, vocab, scheme, prompt_lines(prompt, "zh", vocab), lines, beat_mode, True,  # type: ignore[arg-type]
                         SamplingConfig(top_k=8, max_line_tokens=12), control, torch.Generator().manual_seed(seed))


def test_generation_is_reproducible_and_in_reading_order(setup) -> None:  # type: ignore[no-untyped-def]
    a = run(setup, 1, RhymeControl())
    assert a == run(setup, 1, RhymeControl())
    assert a != run(setup, 2, RhymeControl())
    assert len(a) == 5 and "".join(a[0].tokens) == "夜色笼罩整座城市的光"
    assert all(1 <= len(line.tokens) <= 12 and SEP not in line.tokens for line in a)


def test_full_strength_constraint_makes_every_line_rhyme(setup) -> None:  # type: ignore[no-untyped-def]
    # α = 0, bound 1: the matching tokens get p = 1 and fill the top-k, so each line's last token rhymes
    # with the previous line's (an untrained model would not)
    scheme = setup[2]
    for seed in range(3):
        song = run(setup, seed, RhymeControl(count=1, alpha=0.0, bound=1.0), beat_mode="none", lines=4)
        ends = [line_rhymes(line, scheme)[0] for line in song]
        assert ends == ["ang"] * 5
    free = [line_rhymes(line, scheme)[0] for s in range(3) for line in run(setup, s, None, beat_mode="none")[1:]]
    assert set(free) != {"ang"}


def test_prompt_errors(setup) -> None:  # type: ignore[no-untyped-def]
    vocab = setup[1]
    with pytest.raises(UserError, match="empty"):
        prompt_lines("  \n ", "zh", vocab)
    with pytest.raises(UserError, match="not in the model's vocabulary: 鑫"):
        prompt_lines("夜鑫", "zh", vocab)
    assert prompt_lines("夜鑫", "zh", vocab, strict=False)[0].tokens == ["夜", "鑫"]


def test_cli_prepare_train_rap_score(tmp_path: Path, run_cli) -> None:
    data, exp = tmp_path / "data", tmp_path / "exp"
    code, _, err = run_cli(["music", "prepare-lyrics", str(FIXTURES / "beats_zh.txt"), "--lang", "zh", "--valid-songs", "1",
                             "--out-dir", str(data)])
    assert code == 0, err
    sets = [f"task_conf.{k}={data / v}" for k, v in (("train_lyrics", "train.txt"), ("valid_lyrics", "valid.txt"),
                                                       ("token_list", "tokens.txt"), ("rhyme_list", "rhymes.txt"))]
    args = ["train", "--config", str(CONF), "--out-dir", str(exp), "--quiet", "--set", "trainer.max_steps=3"]
    for s in sets + ["task_conf.beat_mode=local"]:
        args += ["--set", s]
    code, _, err = run_cli(args)
    assert code == 0, err
    rap = ["music", "rap", "--model-dir", str(exp), "--lang", "zh", "--lines", "3", "--seed", "5"]
    code, first, err = run_cli(rap + ["--prompt", "夜色笼罩整座城市的光"])
    assert code == 0, err
    lines = first.strip().splitlines()
    assert len(lines) == 4 and lines[0] == "夜色笼罩整座城市的光"
    out = tmp_path / "rap.txt"
    code, _, _ = run_cli(rap + ["--prompt", "夜色笼罩整座城市的光", "--out", str(out)])
    assert code == 0 and out.read_text(encoding="utf-8") == first
    for bad, message in ((["--prompt", ""], "prompt is empty"), (["--prompt", "鑫"], "not in the model's vocabulary: 鑫"),
                         (["--prompt", "光", "--lang", "en"], "trained on zh")):
        code, _, err = run_cli(rap + bad)
        assert code == 1 and len(err.strip().splitlines()) == 1 and message in err, err
    code, table, err = run_cli(["score", "lyrics", str(out), "--lang", "zh", "--model-dir", str(exp),
                                 "--json", str(tmp_path / "s.json")])
    assert code == 0, err
    assert "perplexity" in table and '"rhyme_accuracy"' in (tmp_path / "s.json").read_text()
    bad_file = tmp_path / "bad.txt"
    bad_file.write_text("我[BOOM]你\n", encoding="utf-8")
    code, _, err = run_cli(["score", "lyrics", str(bad_file), "--lang", "zh"])
    assert code == 1 and err.strip().splitlines() == [f"error: {bad_file}:1: unknown tag [BOOM] (known: [BEAT], [S], [M], [F])"]
