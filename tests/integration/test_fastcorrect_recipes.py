"""End-to-end smoke tests of the FastCorrect recipes' default (shipped-data) paths, tiny models.

Each recipe folder is copied into a temporary tree (with ``local/``, ``conf/`` and ``egs/TEMPLATE`` linked), so
the runs never touch the checkout's ``data/`` or ``exp/``.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _stage_tree(tmp_path: Path, recipe: str) -> Path:
    (tmp_path / "local").symlink_to(ROOT / "local")
    (tmp_path / "conf").symlink_to(ROOT / "conf")
    target = tmp_path / "egs" / recipe
    shutil.copytree(ROOT / "egs" / recipe, target, ignore=shutil.ignore_patterns("data", "exp", "dump"))
    (tmp_path / "egs" / "TEMPLATE").symlink_to(ROOT / "egs" / "TEMPLATE")  # the shared stages 2-7
    return target


def _run(recipe_dir: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "run.sh", *args], cwd=recipe_dir, env=env, capture_output=True, text=True, timeout=600)


def _check_outputs(recipe_dir: Path, hyp_name: str, n_test: int) -> None:
    results = (recipe_dir / "exp" / "results.md").read_text()
    for model in ("fastcorrect", "transformer_corrector"):
        assert f"| {model} | test |" in results
        decoded = (recipe_dir / "exp" / model / "decode_test" / "text").read_text().splitlines()
        assert len(decoded) == n_test
        assert (recipe_dir / "exp" / model / "model.pt").is_file()
        assert (recipe_dir / "exp" / model / "tokens.txt").is_file()
    hyp = (recipe_dir / "data" / "test" / hyp_name).read_text().splitlines()
    assert len(hyp) == n_test


@pytest.mark.slow
def test_aishell1_mini_path(tmp_path: Path, recipe_env: dict) -> None:
    recipe = _stage_tree(tmp_path, "aishell1/fastcorrect")
    proc = _run(recipe, recipe_env, "--size", "tiny", "--noise-epochs", "2", "--pretrain-steps", "20", "--finetune-steps", "5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_outputs(recipe, "hyp", 50)
    assert "model directory:" in proc.stderr and str(recipe / "exp" / "fastcorrect") in proc.stderr


@pytest.mark.slow
def test_kathleen_default_path(tmp_path: Path, recipe_env: dict) -> None:
    recipe = _stage_tree(tmp_path, "kathleen/fastcorrect")
    text = tmp_path / "lj_head.txt"
    with gzip.open(recipe / "corpus" / "ljspeech_LJ001-LJ040.txt.gz", "rt", encoding="utf-8") as handle:
        text.write_text("".join(line for _, line in zip(range(1500), handle)))
    proc = _run(recipe, recipe_env, "--size", "tiny", "--text-corpus", str(text), "--noise-epochs", "1",
                "--pretrain-steps", "20", "--finetune-steps", "5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_outputs(recipe, "hyp", 100)
    test_ids = {line.split()[0] for line in (recipe / "data" / "test" / "ref").read_text().splitlines()}
    assert test_ids == set((recipe / "local" / "test_ids.txt").read_text().split())
    uniform = (recipe / "data" / "pretrain.tsv").read_text()
    proc = _run(recipe, recipe_env, "--stage", "2", "--stop-stage", "2", "--text-corpus", str(text), "--noise-epochs", "1",
                "--noise-channel", "data/train/pairs.tsv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    channel = (recipe / "data" / "pretrain.tsv").read_text()
    kept = json.loads((recipe / "data" / "pretrain_text.json").read_text())["kept"]  # text prepare-corpus's count
    assert 1400 < kept <= 1500 and len(channel.splitlines()) == len(uniform.splitlines()) == kept
    assert channel != uniform


def _candidates(line: str) -> int:
    """Candidates of an n-best pair's source field (`cand1 ||| cand2 ...<TAB>reference`)."""
    return len(line.split("\t")[0].split(" ||| "))


def _check_fastcorrect2(recipe_dir: Path, n_test: int) -> str:
    results = (recipe_dir / "exp" / "results.md").read_text()
    for row in ("fastcorrect2 | dev", "fastcorrect2 | test", "oracle | dev", "oracle | test"):
        assert f"| {row} |" in results, results
    for system in ("fastcorrect2", "oracle"):
        decoded = (recipe_dir / "exp" / system / "decode_test" / "text").read_text().splitlines()
        assert len(decoded) == n_test
        test_ids = [line.split("\t")[0] for line in (recipe_dir / "data" / "test" / "nbest.tsv").read_text().splitlines()]
        assert [line.split()[0] for line in decoded] == test_ids
    assert (recipe_dir / "exp" / "fastcorrect2" / "gate.json").is_file()  # the edit gate was chosen on the dev n-best lists
    assert "<void>" in (recipe_dir / "exp" / "fastcorrect2" / "tokens.txt").read_text().split()
    pretrain = (recipe_dir / "data" / "pretrain_nbest.tsv").read_text().splitlines()
    assert pretrain and all(_candidates(line) == 4 for line in pretrain)
    assert not (recipe_dir / "data" / "pretrain.tsv").exists()  # no single-candidate corrector asked for it
    return results


@pytest.mark.slow
def test_kathleen_fastcorrect2_path(tmp_path: Path, recipe_env: dict) -> None:
    recipe = _stage_tree(tmp_path, "kathleen/fastcorrect")
    corpus = tmp_path / "english_text"  # a folder of .txt/.txt.gz, as the large corpus (--text-corpus .../english_text)
    corpus.mkdir()
    with gzip.open(recipe / "corpus" / "ljspeech_LJ001-LJ040.txt.gz", "rt", encoding="utf-8") as handle:
        lines = [line for _, line in zip(range(800), handle)]
    with gzip.open(corpus / "a.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("".join(lines[:500]))
    (corpus / "b.txt").write_text("".join(lines[500:]))
    proc = _run(recipe, recipe_env, "--models", "fastcorrect2", "--size", "tiny", "--text-corpus", str(corpus), "--noise-epochs", "1",
                "--pretrain-steps", "10", "--finetune-steps", "3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_fastcorrect2(recipe, 100)
    data = recipe / "data"
    assert json.loads((data / "pretrain_text.json").read_text())["input_files"] == 2
    sizes = []
    for s, n in (("train", 443), ("dev", 50), ("test", 100)):
        nbest = (data / s / "nbest.tsv").read_text().splitlines()
        hyp = (data / s / "hyp").read_text().splitlines()
        assert len(nbest) == len(hyp) == n
        assert [line.split("\t")[1] for line in nbest] == [(h.split(maxsplit=1) + [""])[1] for h in hyp]  # the 1-best is hyp's line
        pairs = (data / s / "nbest_pairs.tsv").read_text().splitlines()
        assert len(pairs) == n
        sizes += map(_candidates, pairs)
    assert min(sizes) == 1 and max(sizes) == 5  # pocketsphinx's 4-best lists, and a 1-best that differs from all of them
    oracle = (recipe / "exp" / "oracle" / "decode_test" / "oracle_wer.txt").read_text()
    assert oracle.startswith("%WER ") and "Scored 100 sentences" in oracle
    bad = _run(recipe, recipe_env, "--stage", "7", "--models", "fastcorrect2", "--nbest", "four")
    assert bad.returncode == 1 and bad.stderr.strip().splitlines()[-1] == "error: --nbest must be a positive integer, got 'four'"
    independent = (data / "pretrain_nbest.tsv").read_text()
    stage2 = ("--stage", "2", "--stop-stage", "2", "--models", "fastcorrect2", "--text-corpus", str(corpus), "--noise-epochs", "1")
    proc = _run(recipe, recipe_env, *stage2, "--nbest-noise", "correlated")
    assert proc.returncode == 0, proc.stderr[-3000:]
    correlated = (data / "pretrain_nbest.tsv").read_text().splitlines()
    assert correlated != independent.splitlines() and len(correlated) == len(independent.splitlines())
    assert all(_candidates(line) == 4 for line in correlated)
    bad = _run(recipe, recipe_env, *stage2, "--nbest-noise", "correlated", "--noise-channel", "data/train/pairs.tsv")
    assert bad.returncode == 1 and bad.stderr.strip().splitlines()[-1].endswith(
        "stage 2 failed (exit 1); see exp/logs/stage2.log; its last line: "
        "error: --n-best-noise correlated noises with the uniform noise; drop --channel or use independent")


@pytest.mark.slow
def test_aishell1_fastcorrect2_fixture_path(tmp_path: Path, recipe_env: dict) -> None:
    recipe = _stage_tree(tmp_path, "aishell1/fastcorrect")
    proc = _run(recipe, recipe_env, "--models", "fastcorrect2", "--size", "tiny", "--noise-epochs", "1", "--pretrain-steps", "10",
                "--finetune-steps", "3", "--gate-grid", "0 0.9")  # the gate chosen by dev CER on the n-best lists
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_fastcorrect2(recipe, 50)
    pairs = (recipe / "data" / "train" / "nbest_pairs.tsv").read_text(encoding="utf-8").splitlines()
    assert len(pairs) == 500 and sum(_candidates(line) > 1 for line in pairs) > 400  # the fixture's multi-candidate lists
    rows = {(cells[1].strip(), cells[2].strip()): (float(cells[3]), float(cells[4])) for cells in
            (line.split("|") for line in (recipe / "exp" / "results.md").read_text().splitlines()[2:])}
    before, after = rows[("oracle", "test")]
    assert after < before  # the oracle of the 4-best lists is below their 1-best


def test_aishell1_fastcorrect2_paper_setting() -> None:
    """The AISHELL-1 FastCorrect 2 configs as stages 4-5 compose them with --size paper: the paper's model (6+6
    layers, d 512, 8 heads, FFN 2048, dropout 0.3), 4 candidates, Mandarin (the task aligns them by toneless pinyin)."""
    from speechtools.config import load_config

    size = ROOT / "conf" / "correction" / "fastcorrect2_paper.yaml"
    lines = subprocess.run([sys.executable, str(ROOT / "conf" / "correction" / "size_overrides.py"), str(size)],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    overrides = [value for flag, value in zip(lines[::2], lines[1::2]) if flag == "--set"] + ["model_conf.n_candidates=4"]
    for phase in ("pretrain", "finetune"):
        conf = load_config(ROOT / "egs" / "aishell1" / "fastcorrect" / "conf" / f"fastcorrect2_{phase}.yaml", overrides)
        model = conf.get("model_conf")
        assert conf.get("model") == "fastcorrect2" and conf.get("task_conf")["lang"] == "zh"
        assert (model["encoder_layers"], model["decoder_layers"], model["d_model"], model["n_heads"], model["ffn_dim"]) == (6, 6, 512, 8, 2048)
        assert model["n_candidates"] == 4 and model["dropout"] == 0.3 and conf.get("optim")["name"] == "adam"


def test_aishell1_corpus_path_takes_n_best_lists_from_the_hyp_dir(tmp_path: Path, recipe_env: dict) -> None:
    """--corpus + --hyp-dir: {set}/nbest.tsv (TSV or Kaldi n-best) become data/{set}/nbest.tsv; without one, the 1-best alone."""
    import numpy as np
    import soundfile as sf

    recipe = _stage_tree(tmp_path, "aishell1/fastcorrect")
    release, hyp_dir = tmp_path / "data_aishell", tmp_path / "asr"
    (release / "transcript").mkdir(parents=True)
    utts = {"train": "BAC009S0002W0122", "dev": "BAC009S0724W0121", "test": "BAC009S0764W0121"}
    for name, utt in utts.items():
        (release / "wav" / name / utt[6:11]).mkdir(parents=True)
        sf.write(release / "wav" / name / utt[6:11] / f"{utt}.wav", np.zeros(1600, dtype=np.float32), 16000)
        (hyp_dir / name).mkdir(parents=True)
        (hyp_dir / name / "text").write_text(f"{utt} 而对楼市成交一制作用\n", encoding="utf-8")
    (release / "transcript" / "aishell_transcript_v0.8.txt").write_text(
        "".join(f"{utt} 而 对 楼市 成交 抑制 作用\n" for utt in utts.values()), encoding="utf-8")
    (hyp_dir / "train" / "nbest.tsv").write_text(f"{utts['train']}\t而对楼市成交一制作用\t而对楼市成交一制作用 ||| 而对楼市成交抑制作用\n",
                                                 encoding="utf-8")
    (hyp_dir / "dev" / "nbest.tsv").write_text(f"{utts['dev']}-1 而对楼市成交一制作用\n{utts['dev']}-2 儿对楼市成交抑制作用\n",
                                               encoding="utf-8")  # Kaldi n-best text
    proc = _run(recipe, recipe_env, "--corpus", str(release), "--hyp-dir", str(hyp_dir), "--stop-stage", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = recipe / "data"
    pairs = {s: (data / s / "nbest_pairs.tsv").read_text(encoding="utf-8") for s in utts}
    assert pairs["train"] == "而对楼市成交一制作用 ||| 而对楼市成交抑制作用\t而对楼市成交抑制作用\n"
    assert pairs["dev"] == "而对楼市成交一制作用 ||| 儿对楼市成交抑制作用\t而对楼市成交抑制作用\n"
    assert (data / "test" / "nbest.tsv").read_text(encoding="utf-8") == f"{utts['test']}\t而对楼市成交一制作用\n"
    assert pairs["test"] == "而对楼市成交一制作用\t而对楼市成交抑制作用\n"
    (data / "dev" / "nbest.tsv").unlink()
    proc = _run(recipe, recipe_env, "--stage", "6", "--models", "fastcorrect2")
    # a stage's output goes to stdout and its log (local/stage.sh)
    assert proc.returncode == 1 and proc.stdout == "error: data/dev/nbest.tsv: no such file (stage 1 writes the n-best lists)\n"
    assert proc.stderr.splitlines()[-1].endswith("stage 6 failed (exit 1); see exp/logs/stage6.log; its last line: "
                                                 "error: data/dev/nbest.tsv: no such file (stage 1 writes the n-best lists)")
