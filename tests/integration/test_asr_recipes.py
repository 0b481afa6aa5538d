"""The ASR recipes (egs/TEMPLATE/asr.sh): the mini path end to end (tiny recogniser and LM, two
augmentation rows, joint search with shallow fusion, scoring, the table); the Kathleen recipe's data
split on a fixture with Kathleen's and Philipp's real layouts and ids; the AISHELL-1 full-data path
(release layout, 16 kHz filterbanks, characters, CER) end to end on a fixture. Plumbing, not quality."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speechtools.data.corpora.philipp import ADAPT_IDS, EVAL_IDS
from speechtools.data.kaldi import read_records, read_table

ROOT = Path(__file__).resolve().parents[2]


def recipe(tmp_path: Path, corpus: str, name: str = "asr") -> Path:
    """A copy of egs/<corpus>/<name> in the egs layout its relative paths need."""
    egs = tmp_path / "egs" / corpus
    shutil.copytree(ROOT / "egs" / corpus / name, egs / name, ignore=shutil.ignore_patterns("data", "dump", "exp"))
    (tmp_path / "egs" / "TEMPLATE").symlink_to(ROOT / "egs" / "TEMPLATE")
    (tmp_path / "local").symlink_to(ROOT / "local")
    (tmp_path / "conf").symlink_to(ROOT / "conf")
    return egs / name


def run(work: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", "run.sh", "--device", "cpu", "--nj", "1", *args], cwd=work, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_ljspeech_asr_recipe_mini_path(tmp_path: Path, recipe_env: dict) -> None:
    egs = tmp_path / "egs" / "ljspeech"
    work = recipe(tmp_path, "ljspeech")
    (egs / "mini_corpus").symlink_to(ROOT / "egs" / "ljspeech" / "mini_corpus")
    run(work, recipe_env)
    search = "beam2_ctc0.3_lm0.3"
    for row in ("train_none", "train_mixspeech+specaug"):
        hyp = read_table(work / "exp" / row / f"decode_eval_{search}" / "text")
        assert sorted(hyp) == sorted(read_table(work / "data" / "eval" / "text"))
        assert (work / "exp" / row / "model.pt").is_file()
    config = (work / "exp" / "train_mixspeech+specaug" / "config.yaml").read_text()
    assert "mixspeech:" in config and "spec_augment:" in config
    assert "mixspeech: null" in (work / "exp" / "train_none" / "config.yaml").read_text()
    table = (work / "exp" / "results.md").read_text().splitlines()
    assert table[0] == "| model | training set | augmentation | eval WER % | eval CER % |"
    assert len(table) == 4 and all(line.count("|") == 6 for line in table)
    assert all(cell.strip().replace(".", "").isdigit() for cell in table[2].split("|")[4:6])


def tone(path: Path, k: int, rate: int) -> None:
    t = np.arange(rate // 4) / rate
    sf.write(path, 0.1 * np.sin(2 * np.pi * (200 + 10 * k) * t), rate, subtype="PCM_16", format=path.suffix[1:].upper())


@pytest.mark.slow
def test_kathleen_asr_data_split_on_the_real_layouts(tmp_path: Path, recipe_env: dict) -> None:
    kathleen = tmp_path / "kathleen"
    (kathleen / "wavs").mkdir(parents=True)
    ids = [f"arctic_a{n:04d}" for n in range(1, 594)]
    (kathleen / "text.psv").write_text("".join(f"{u}|Prompt number {k}.\n" for k, u in enumerate(ids)), encoding="utf-8")
    for k, u in enumerate(ids):
        tone(kathleen / "wavs" / f"{u}.flac", k % 50, 22050)
    philipp = tmp_path / "philipp"
    (philipp / "wavs").mkdir(parents=True)
    lj_ids = list(ADAPT_IDS) + list(EVAL_IDS)
    (philipp / "metadata.csv").write_text("".join(f"{u}|Line {k}.|Line {k}.\n" for k, u in enumerate(lj_ids)), encoding="utf-8")
    for k, u in enumerate(lj_ids):
        tone(philipp / "wavs" / f"{u}.flac", k % 50, 22050)
    work = recipe(tmp_path, "kathleen")
    shutil.copytree(ROOT / "egs" / "kathleen" / "fastcorrect" / "local", work.parent / "fastcorrect" / "local")
    run(work, recipe_env, "--stop-stage", "1", "--corpus-args", f"--corpus {kathleen} --corpus-philipp {philipp}")
    sets = {s: sorted(read_table(work / "data" / s / "text")) for s in ("train", "train_100", "dev", "test", "philipp")}
    test_ids = (ROOT / "egs" / "kathleen" / "fastcorrect" / "local" / "test_ids.txt").read_text().split()
    dev_ids = (ROOT / "egs" / "kathleen" / "fastcorrect" / "local" / "dev_ids.txt").read_text().split()
    assert sets["test"] == sorted(test_ids) and sets["dev"] == sorted(dev_ids)
    assert len(sets["train"]) == 443 and not set(sets["train"]) & (set(test_ids) | set(dev_ids))
    assert sets["train_100"] == sets["train"][:100]
    assert len(sets["philipp"]) == len(lj_ids) == 141


AISHELL_TEXT = ["而对楼市成交抑制作用最大的限购", "也成为地方政府的眼中钉", "自六月底呼和浩特市率先宣布取消限购后",
                "各地政府便纷纷跟进", "仅一个多月的时间里", "除了北京上海广州深圳四个一线城市和三亚之外"]


@pytest.mark.slow
def test_aishell1_asr_recipe_on_a_fixture_with_the_release_layout(tmp_path: Path, recipe_env: dict) -> None:
    corpus = tmp_path / "data_aishell"
    lines = []
    mini = sorted((ROOT / "egs" / "ljspeech" / "mini_corpus" / "wavs").glob("*.flac"))
    k = 0
    for split, speakers in (("train", ("S0002", "S0003")), ("dev", ("S0724",)), ("test", ("S0764",))):
        for spk in speakers:
            folder = corpus / "wav" / split / spk
            folder.mkdir(parents=True)
            for n in range(3 if split == "train" else 2):
                utt = f"BAC009{spk}W{121 + n:04d}"
                audio, rate = sf.read(mini[k % len(mini)])
                sf.write(folder / f"{utt}.wav", audio[: rate * 2], rate)  # 22.05 kHz: the 16 kHz features resample it
                lines.append(f"{utt} {' '.join(AISHELL_TEXT[k % len(AISHELL_TEXT)])}")
                k += 1
    (corpus / "transcript").mkdir()
    (corpus / "transcript" / "aishell_transcript_v0.8.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    work = recipe(tmp_path, "aishell1")
    run(work, recipe_env, "--corpus-args", f"--corpus {corpus}", "--conf", str(ROOT / "conf" / "asr" / "ctc_attention_tiny.yaml"),
        "--max-steps", "4")
    tokens = (work / "data" / "tokens.txt").read_text(encoding="utf-8").split()
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>" and "限" in tokens
    assert "sample_rate: 16000" in (work / "exp" / "train_specaug" / "feats.yaml").read_text()
    for test in ("dev", "test"):
        hyp = read_records(work / "exp" / "train_specaug" / f"decode_{test}_greedy" / "text", allow_empty_value=True)
        assert sorted(r.key for r in hyp) == sorted(read_table(work / "data" / test / "text"))  # 4 steps: often empty
    table = (work / "exp" / "results.md").read_text().splitlines()
    assert table[0] == "| model | training set | augmentation | dev CER % | test CER % |"


@pytest.mark.slow
def test_ljspeech_asr_recipe_with_sentencepiece_units_and_speed_perturbation(tmp_path: Path, recipe_env: dict) -> None:
    """--units en_bpe: stage 2 trains the SentencePiece model, the LM and the recogniser share it, and the
    piece run's files sit beside (not over) those of a character run. --speed-perturb-factors: the row trains
    on data/train_sp (the training set at the three speeds) and is named for it."""
    egs = tmp_path / "egs" / "ljspeech"
    work = recipe(tmp_path, "ljspeech")
    (egs / "mini_corpus").symlink_to(ROOT / "egs" / "ljspeech" / "mini_corpus")
    run(work, recipe_env, "--units", "en_bpe", "--bpe-size", "60", "--augment", "none", "--max-steps", "20", "--lm-steps", "5",
        "--speed-perturb-factors", "0.9 1.0 1.1")
    tag = "_unigram60"
    tokens = (work / "data" / f"tokens{tag}.txt").read_text(encoding="utf-8").split()
    assert tokens[:2] == ["<blank>", "<unk>"] and tokens[-1] == "<sos/eos>" and "▁the" in tokens
    model = work / "exp" / f"train_sp_none{tag}"
    lm = work / "exp" / f"lm_lstm_lm_tiny{tag}"
    for model_dir in (model, lm):
        assert (model_dir / "bpe.model").read_bytes() == (work / "data" / f"bpe{tag}.model").read_bytes()
        assert "units: en_bpe" in (model_dir / "config.yaml").read_text()
    train, train_sp = read_table(work / "data" / "train" / "text"), read_table(work / "data" / "train_sp" / "text")
    assert sorted(train_sp) == sorted([*train, *(f"sp{f}-{u}" for f in ("0.9", "1.1") for u in train)])
    assert "train_data: data/train_sp" in (model / "config.yaml").read_text()
    assert sorted(read_table(work / "dump" / "train_sp" / "mel.scp")) == sorted(train_sp)
    hyp = read_records(model / "decode_eval_beam2_ctc0.3_lm0.3" / "text", allow_empty_value=True)
    assert sorted(r.key for r in hyp) == sorted(read_table(work / "data" / "eval" / "text"))
    table = (work / "exp" / f"results{tag}.md").read_text().splitlines()
    assert len(table) == 3 and table[2].startswith(f"| train_sp_none{tag} ") and "| train_sp (78 utts) |" in table[2]
    assert not (work / "exp" / "train_none").exists() and not (work / "data" / "tokens.txt").exists()
