"""AISHELL-1 preparation on a fake release layout, and `speechtools correct pairs`."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from speechtools.cli.main import cli
from speechtools.data.corpora.aishell1 import prepare_aishell1
from speechtools.errors import UserError


def run(*args: str) -> None:
    cli.main(args=list(args), prog_name="speechtools", standalone_mode=False)


def _fake_release(root) -> None:
    (root / "transcript").mkdir(parents=True)
    utts = {"train": ["BAC009S0002W0122", "BAC009S0002W0123"], "dev": ["BAC009S0724W0121"], "test": ["BAC009S0764W0121"]}
    lines = []
    for name, ids in utts.items():
        for k, utt in enumerate(ids):
            folder = root / "wav" / name / utt[6:11]
            folder.mkdir(parents=True, exist_ok=True)
            sf.write(folder / f"{utt}.wav", np.zeros(1600, dtype=np.float32), 16000)
            lines.append(f"{utt} 而 对 楼市 成交 抑制 作用 {k}")
    lines.append("BAC009S0002W0999 没有 音频")
    (root / "transcript" / "aishell_transcript_v0.8.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # an audio file without a transcript is skipped (and counted)
    sf.write(root / "wav" / "train" / "S0002" / "BAC009S0002W0500.wav", np.zeros(160, dtype=np.float32), 16000)


def test_prepare_aishell1_writes_valid_kaldi_dirs(tmp_path) -> None:
    _fake_release(tmp_path / "data_aishell")
    counts = prepare_aishell1(tmp_path / "data_aishell", tmp_path / "data")
    assert counts == {"train": 2, "dev": 1, "test": 1}
    text = (tmp_path / "data" / "train" / "text").read_text(encoding="utf-8").splitlines()
    assert text[0] == "BAC009S0002W0122 而对楼市成交抑制作用0"
    assert (tmp_path / "data" / "dev" / "utt2spk").read_text().split() == ["BAC009S0724W0121", "S0724"]


def test_prepare_aishell1_missing_transcript_is_a_user_error(tmp_path) -> None:
    with pytest.raises(UserError, match="aishell_transcript"):
        prepare_aishell1(tmp_path, tmp_path / "out")


def test_pairs_joins_by_utterance_and_normalises(tmp_path) -> None:
    ref, hyp, out = tmp_path / "ref", tmp_path / "hyp", tmp_path / "pairs.tsv"
    ref.write_text("u1 我们，去公司。\nu2 你好\n", encoding="utf-8")
    hyp.write_text("u2 你 号\nu1 我 门 去 公 司\n", encoding="utf-8")
    run("correct", "pairs", "--lang", "zh", str(ref), str(hyp), str(out))
    assert out.read_text(encoding="utf-8").splitlines() == ["我门去公司\t我们去公司", "你号\t你好"]
    hyp.write_text("u1 我们\n", encoding="utf-8")
    with pytest.raises(UserError, match=":2"):
        run("correct", "pairs", "--lang", "zh", str(ref), str(hyp), str(tmp_path / "bad.tsv"))
    run("correct", "pairs", "--lang", "en", "--missing", "empty", str(ref), str(hyp), str(out))
    assert out.read_text(encoding="utf-8").splitlines()[1] == "\t你好"


def test_n_best_pairs_list_the_normalised_distinct_candidates(tmp_path) -> None:
    ref, nbest, out = tmp_path / "ref", tmp_path / "nbest.tsv", tmp_path / "nbest_pairs.tsv"
    ref.write_text("u1 The dog, ran home.\nu2 a cat\nu3 no words\n", encoding="utf-8")
    nbest.write_text("u2\ta cat\nu1\tthe dog ran home\tThe dog ran home! ||| a dog ran home ||| the dog ran home\nu3\t\n", encoding="utf-8")
    run("correct", "pairs", "--lang", "en", "--n-best", str(ref), str(nbest), str(out))
    assert out.read_text(encoding="utf-8").splitlines() == ["the dog ran home ||| a dog ran home\tthe dog ran home", "a cat\ta cat",
                                                           "\tno words"]
    kaldi = tmp_path / "nbest.txt"
    kaldi.write_text("u1-1 the dog ran home\nu1-2 a dog ran home\nu2-1 a cat\nu3-1\n", encoding="utf-8")
    run("correct", "pairs", "--lang", "en", "--n-best", str(ref), str(kaldi), str(tmp_path / "k.tsv"))
    assert (tmp_path / "k.tsv").read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
    nbest.write_text("u1\ta\tb ||| ||| c\n", encoding="utf-8")
    with pytest.raises(UserError) as info:
        run("correct", "pairs", "--lang", "en", "--n-best", str(ref), str(nbest), str(tmp_path / "bad.tsv"))
    assert info.value.line == 1 and not (tmp_path / "bad.tsv").exists()
