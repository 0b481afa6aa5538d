"""FastCorrect 2 through the correction task, `speechtools train`, `correct noise --n-best` and `correct-asr --n-best`."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from speechtools.cli.main import cli
from speechtools.correction.multi_alignment import VOID
from speechtools.errors import UserError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "correction" / "kathleen_pairs.tsv"
CONF = Path(__file__).resolve().parents[2] / "conf" / "correction"


def run(*args: str) -> None:
    cli.main(args=list(args), prog_name="speechtools", standalone_mode=False)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("fc2")
    text = root / "text.txt"
    text.write_text("".join(line.split("\t")[1] + "\n" for line in FIXTURE.read_text().splitlines()))
    pretrain = root / "pretrain.tsv"
    run("correct", "noise", "--lang", "en", "--seed", "2", "--n-best", "4", str(text), str(pretrain))
    tokens = root / "tokens.txt"
    run("correct", "vocab", "--lang", "en", str(FIXTURE), str(pretrain), str(tokens))
    out = root / "fastcorrect2"
    # synthesised 4-candidate pairs and real single-candidate pairs (padded to 4 by repetition)
    run("train", "--config", str(CONF / "fastcorrect2_tiny.yaml"), "--out-dir", str(out), "--device", "cpu", "--quiet",
        "--set", f"task_conf.train=[{pretrain},{FIXTURE}]", "--set", f"task_conf.valid={FIXTURE}", "--set", f"task_conf.tokens={tokens}",
        "--set", "trainer.max_steps=20", "--set", "trainer.valid_interval=20", "--set", "trainer.save_interval=20",
        "--set", "trainer.batch_bins=2000")
    return {"root": root, "text": text, "pretrain": pretrain, "tokens": tokens, "model": out}


def test_noise_writes_n_candidates_per_sentence(setup, tmp_path) -> None:
    lines = setup["pretrain"].read_text().splitlines()
    clean = setup["text"].read_text().splitlines()
    assert [line.split("\t")[1] for line in lines] == clean
    assert all(len(line.split("\t")[0].split(" ||| ")) == 4 for line in lines)
    again = tmp_path / "again.tsv"
    run("correct", "noise", "--lang", "en", "--seed", "2", "--n-best", "4", str(setup["text"]), str(again))
    assert again.read_text() == setup["pretrain"].read_text()


def test_noise_correlated_beams(setup, tmp_path) -> None:
    out = tmp_path / "correlated.tsv"
    args = ["correct", "noise", "--lang", "en", "--seed", "2", "--n-best", "4", "--n-best-noise", "correlated"]
    run(*args, str(setup["text"]), str(out))
    lines = out.read_text().splitlines()
    assert [line.split("\t")[1] for line in lines] == setup["text"].read_text().splitlines()
    cands = [line.split("\t")[0].split(" ||| ") for line in lines]
    assert all(len(c) == 4 for c in cands)
    assert out.read_text() != setup["pretrain"].read_text()  # not the independent draws
    again = tmp_path / "again.tsv"
    run(*args, str(setup["text"]), str(again))
    assert again.read_text() == out.read_text()
    refused = tmp_path / "refused.tsv"
    with pytest.raises(UserError, match="correlated"):
        run(*args, "--channel", str(FIXTURE), str(setup["text"]), str(refused))
    assert not refused.exists()


def test_training_ran_and_the_model_directory_loads(setup) -> None:
    from speechtools.models.fastcorrect2 import FastCorrect2
    from speechtools.train.model_dir import load_model_dir

    path = setup["model"]
    assert {"config.yaml", "model.pt", "tokens.txt", "train_log.jsonl"} <= {p.name for p in path.iterdir()}
    tokens = (path / "tokens.txt").read_text().splitlines()
    assert tokens[-1] == VOID and VOID not in setup["tokens"].read_text().splitlines()  # the task appended it
    loaded = load_model_dir(path, "cpu")
    assert isinstance(loaded.model, FastCorrect2) and loaded.model.conf.vocab_size == len(tokens)
    assert "score_mse" in (path / "train_log.jsonl").read_text()


def test_task_batches_are_aligned_candidate_rows(setup) -> None:
    from speechtools.train.model_dir import load_model_dir

    task = load_model_dir(setup["model"], "cpu").task
    task.conf.tokens = str(setup["tokens"])
    data = task.train_dataset()
    batch = task.collate([data[k] for k in range(3)])
    b, n, width = batch["src"].shape
    assert (b, n) == (3, 4) and batch["durations"].shape == batch["edited"].shape == (3, 4, width)
    assert torch.equal(batch["src_lengths"], (batch["src"][:, 0] != 0).sum(1))
    target_lengths = (batch["target"] != 0).sum(1)
    assert torch.equal(batch["durations"].sum(2), target_lengths[:, None].expand(3, 4))
    void = task.tokenizer.vocab.index[VOID]
    assert bool((batch["durations"][batch["src"] == void] == 0).all())


def test_correct_asr_n_best_keeps_one_line_per_input_line(setup, tmp_path) -> None:
    src = tmp_path / "asr_hyp.tsv"
    src.write_text("u1\t\n"
                   "u2\tthe dog ran home\n"
                   "u3\tthe dog ran home\tthe dog ran home ||| a dog ran home ||| the dogs ran home to\n"
                   "u4\t\tthe cat sat ||| a cat sat\n"
                   "u5\tfor the twentieth time\tfor the twentieth time ||| for the twentieth time\n")
    out = tmp_path / "out.txt"
    run("correct-asr", "--model-dir", str(setup["model"]), "--device", "cpu", "--quiet", "--n-best", "--batch-size", "2", str(src), str(out))
    lines = out.read_text().splitlines()
    assert len(lines) == 5
    assert [line.split()[0] for line in lines] == ["u1", "u2", "u3", "u4", "u5"]
    assert lines[0] == "u1" and all(len(line.split()) > 1 for line in lines[1:])
    assert VOID not in out.read_text() and "<unk>" not in out.read_text()
    kaldi = tmp_path / "nbest.txt"
    kaldi.write_text("u1-1 the dog ran home\nu1-2 a dog ran home\nu2-1 the cat sat\n")
    run("correct-asr", "--model-dir", str(setup["model"]), "--device", "cpu", "--quiet", "--n-best", str(kaldi), str(out))
    assert [line.split()[0] for line in out.read_text().splitlines()] == ["u1", "u2"]


def test_correct_asr_n_best_refuses_malformed_input_without_output(setup, tmp_path) -> None:
    out = tmp_path / "out.txt"
    for number, content in ((2, "u1\tthe dog\nu2 the cat\n"), (2, "u1\tthe dog\n\nu2\tthe cat\n"), (1, "u1\ta\tb ||| ||| c\n")):
        src = tmp_path / "bad.tsv"
        src.write_text(content)
        with pytest.raises(UserError) as err:
            run("correct-asr", "--model-dir", str(setup["model"]), "--device", "cpu", "--quiet", "--n-best", str(src), str(out))
        assert err.value.line == number and "\n" not in str(err.value)
        assert not out.exists()


def test_single_sentences_are_read_as_n_copies(setup, tmp_path) -> None:
    src = tmp_path / "hyp.txt"
    src.write_text("u1 the dog ran home\nu2\nu3 for the twentieth time\n")
    out = tmp_path / "out.txt"
    run("correct-asr", "--model-dir", str(setup["model"]), "--device", "cpu", "--quiet", str(src), str(out))
    nbest = tmp_path / "nbest.tsv"
    nbest.write_text("u1\tthe dog ran home\nu2\t\nu3\tfor the twentieth time\n")
    out_nbest = tmp_path / "out_nbest.txt"
    run("correct-asr", "--model-dir", str(setup["model"]), "--device", "cpu", "--quiet", "--n-best", str(nbest), str(out_nbest))
    assert out.read_text() == out_nbest.read_text() and len(out.read_text().splitlines()) == 3


def test_choose_gate_decodes_n_best_lists(setup, tmp_path, capsys) -> None:
    import json

    from speechtools.correction.inference import Corrector
    from speechtools.scoring.correction_metrics import correction_metrics

    nbest = tmp_path / "nbest.tsv"
    nbest.write_text("u1\tthe dog ran hum\tthe dog ran hum ||| the dog ran home ||| a dog ran home\n"
                     "u2\tfor the twentieth time\n"
                     "u3\tthe cat sad\tthe cat sad ||| the cat sat\n")
    ref = tmp_path / "ref"
    ref.write_text("u1 the dog ran home\nu2 for the twentieth time\nu3 the cat sat\n")
    capsys.readouterr()
    run("correct", "choose-gate", "--model-dir", str(setup["model"]), "--grid", "0 0.9", "--n-best", "--src", str(nbest),
        "--ref", str(ref), "--device", "cpu", "--quiet", "--json", str(tmp_path / "gate.json"))
    chosen = capsys.readouterr().out.strip()
    report = json.loads((tmp_path / "gate.json").read_text())
    corrector = Corrector.from_model_dir(str(setup["model"]), "cpu")
    lists = {"u1": ["the dog ran hum", "the dog ran home", "a dog ran home"], "u2": ["for the twentieth time"],
             "u3": ["the cat sad", "the cat sat"]}
    refs = {u: line.split()[1:] for u, line in zip(lists, ref.read_text().splitlines())}
    wer = {}
    for t in (0.0, 0.9):
        corrector.edit_threshold = t
        out = corrector.correct_nbest(list(lists.values()), progress=False)
        wer[f"{t:g}"] = correction_metrics({u: c[0].split() for u, c in lists.items()}, dict(zip(lists, (o.split() for o in out))), refs)["wer_after"]
    assert report["wer"] == pytest.approx(wer) and chosen == min(wer, key=lambda k: (wer[k], list(wer).index(k)))
    ref.write_text(ref.read_text() + "u4 a missing list\n")
    with pytest.raises(UserError, match="no n-best list for reference utterance 'u4'") as err:
        run("correct", "choose-gate", "--model-dir", str(setup["model"]), "--grid", "0 0.9", "--n-best", "--src", str(nbest),
            "--ref", str(ref), "--device", "cpu", "--quiet")
    assert err.value.path == str(nbest)


def test_candidate_choice_check_of_the_kathleen_recipe(setup) -> None:
    """egs/kathleen/fastcorrect/local/candidate_choice.py on 4-candidate pairs: consistent rates and counts."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "egs" / "kathleen" / "fastcorrect" / "local" / "candidate_choice.py"
    spec = importlib.util.spec_from_file_location("candidate_choice", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    report = module.choice_report(str(setup["model"]), str(setup["pretrain"]), batch_size=7)
    n_lists = len(setup["pretrain"].read_text().splitlines())
    assert report["lists"] == n_lists
    by_rank, rates = report["token_error_rate_by_rank"], report["token_error_rate"]
    assert len(by_rank) == 4 and rates["one_best"] == by_rank[0]
    assert rates["oracle"] <= min(by_rank + [rates["decoder_nll"], rates["head"], rates["confidence"]])
    assert min(by_rank) > 0  # every noised candidate has errors somewhere in the corpus
    for counts in report["chosen_rank"].values():
        assert len(counts) == 4 and sum(counts) == n_lists
    assert -1.0 <= report["kendall_tau"]["nll_vs_errors"] <= 1.0
