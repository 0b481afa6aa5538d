"""The correction task under the generic trainer, the model directory, and the CLI commands."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from speechtools.cli.main import cli
from speechtools.errors import UserError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "correction" / "kathleen_pairs.tsv"
CONF = Path(__file__).resolve().parents[2] / "conf" / "correction"


def run(*args: str) -> None:
    cli.main(args=list(args), prog_name="speechtools", standalone_mode=False)


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("corr")
    tokens = root / "tokens.txt"
    run("correct", "vocab", "--lang", "en", str(FIXTURE), str(tokens))
    dirs = {}
    for name in ("fastcorrect", "transformer_corrector"):
        out = root / name
        run("train", "--config", str(CONF / f"{name}_tiny.yaml"), "--out-dir", str(out), "--device", "cpu", "--quiet",
            "--set", f"task_conf.train=[{FIXTURE}]", "--set", f"task_conf.valid={FIXTURE}", "--set", f"task_conf.tokens={tokens}",
            "--set", "trainer.max_steps=4", "--set", "trainer.valid_interval=4", "--set", "trainer.save_interval=4")
        dirs[name] = out
    return dirs


def test_model_directory_is_self_contained(model_dirs) -> None:
    from speechtools.train.model_dir import load_model_dir

    for name, path in model_dirs.items():
        assert {"config.yaml", "model.pt", "tokens.txt", "train_log.jsonl"} <= {p.name for p in path.iterdir()}
        loaded = load_model_dir(path, "cpu")
        assert loaded.config.model == name
        assert loaded.model.conf.vocab_size == len((path / "tokens.txt").read_text().splitlines())


def test_task_batches_carry_alignment_durations(model_dirs) -> None:
    from speechtools.train.model_dir import load_model_dir

    loaded = load_model_dir(model_dirs["fastcorrect"], "cpu")
    task = loaded.task
    task.conf.tokens = str(model_dirs["fastcorrect"] / "tokens.txt")
    data = task.train_dataset()
    batch = task.collate([data[k] for k in range(4)])
    assert torch.equal(batch["durations"].sum(1), (batch["target"] != 0).sum(1))
    lengths = (batch["target"] != 0).sum(1)
    assert torch.equal(batch["prev"][:, 1:], batch["target"]) and bool((batch["prev"][:, 0] == 2).all())
    assert bool((batch["target_eos"].gather(1, lengths[:, None]) == 3).all())


@pytest.mark.parametrize("name", ["fastcorrect", "transformer_corrector"])
def test_correct_asr_keeps_lines_ids_blank_lines_and_unknown_tokens(model_dirs, tmp_path, name) -> None:
    src = tmp_path / "hyp.txt"
    src.write_text("utt_001 the dog ran home\nutt_002\nutt_003 ü café zzz\n")
    out = tmp_path / "out.txt"
    run("correct-asr", "--model-dir", str(model_dirs[name]), "--device", "cpu", "--quiet", "--batch-size", "2", str(src), str(out))
    lines = out.read_text().splitlines()
    assert len(lines) == 3
    assert [line.split()[0] for line in lines] == ["utt_001", "utt_002", "utt_003"]
    assert lines[1] == "utt_002"
    plain = tmp_path / "plain.txt"
    plain.write_text("the dog ran home\n\nü\n")
    run("correct-asr", "--model-dir", str(model_dirs[name]), "--device", "cpu", "--quiet", str(plain), str(out))
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and lines[1] == ""
    if name == "fastcorrect":
        # an out-of-vocabulary character comes back as itself, never as <unk>
        assert "<unk>" not in out.read_text()


def test_fastcorrect_copies_out_of_vocabulary_words_unless_told_to_edit_them(model_dirs, tmp_path) -> None:
    from speechtools.correction.inference import Corrector
    from speechtools.correction.tokenizer import Tokenizer
    from speechtools.models.fastcorrect import FastCorrect, FastCorrectConfig

    tok = Tokenizer.build(["the dog ran home", "a cat sat"], "en")
    torch.manual_seed(0)
    model = FastCorrect(FastCorrectConfig(vocab_size=len(tok.vocab), d_model=32, n_heads=4, ffn_dim=64,
                                          encoder_layers=2, decoder_layers=2, dropout=0.0))
    with torch.no_grad():  # every source token predicted to expand to two output tokens
        model.predictor.duration[-1].weight.zero_()
        model.predictor.duration[-1].bias.fill_(2.0)
    sentences = ["the dog stared home", "tacos the cat"]
    copied = Corrector(model, tok, torch.device("cpu")).correct(sentences, progress=False)
    assert copied[0].split()[2 * 2] == "stared" and copied[1].split()[0] == "tacos"
    assert len(copied[0].split()) == 7 and len(copied[1].split()) == 5
    edited = Corrector(model, tok, torch.device("cpu"), copy_oov_words=False).correct(sentences, progress=False)
    assert "stared" not in edited[0].split() and "tacos" not in edited[1].split()
    src = tmp_path / "hyp.txt"
    src.write_text("zanzibar the dog\n")
    out = tmp_path / "out.txt"
    for flag in ("--copy-oov-words", "--edit-oov-words"):
        run("correct-asr", "--model-dir", str(model_dirs["fastcorrect"]), "--device", "cpu", "--quiet", flag, str(src), str(out))
        assert len(out.read_text().splitlines()) == 1


def test_correct_asr_errors_are_user_errors_without_output(model_dirs, tmp_path) -> None:
    src = tmp_path / "hyp.txt"
    src.write_text("a b\n")
    out = tmp_path / "out.txt"
    with pytest.raises(UserError, match="model directory not found"):
        run("correct-asr", "--model-dir", str(tmp_path / "missing"), str(src), str(out))
    with pytest.raises(UserError, match="no such file"):
        run("correct-asr", "--model-dir", str(model_dirs["fastcorrect"]), str(tmp_path / "nope.txt"), str(out))
    assert not out.exists()


def test_noise_command_is_deterministic_and_multi_epoch(tmp_path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("".join(line.split("\t")[1] + "\n" for line in FIXTURE.read_text().splitlines()))
    a, b, c = tmp_path / "a.tsv", tmp_path / "b.tsv", tmp_path / "c.tsv"
    run("correct", "noise", "--lang", "en", "--seed", "3", "--epochs", "2", str(text), str(a))
    run("correct", "noise", "--lang", "en", "--seed", "3", "--epochs", "2", str(text), str(b))
    run("correct", "noise", "--lang", "en", "--seed", "4", "--epochs", "2", str(text), str(c))
    rows = a.read_text().splitlines()
    assert a.read_text() == b.read_text() != c.read_text()
    n = len(text.read_text().splitlines())
    assert len(rows) == 2 * n
    assert [r.split("\t")[1] for r in rows[:n]] == [r.split("\t")[1] for r in rows[n:]]
    assert [r.split("\t")[0] for r in rows[:n]] != [r.split("\t")[0] for r in rows[n:]]


def test_noise_command_follows_an_error_channel(tmp_path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("a cat sat on a mat\n" * 200)
    channel = tmp_path / "channel.tsv"
    channel.write_text("the cat sat on the mat\ta cat sat on a mat\n" * 20)
    out = tmp_path / "out.tsv"
    run("correct", "noise", "--lang", "en", "--channel", str(channel), "--channel-prior", "0.001", str(text), str(out))
    noised = Counter(w for row in out.read_text().splitlines() for w in row.split("\t")[0].split())
    # the recogniser always heard "a" as "the" and got every other word right
    assert noised == Counter({"the": 400, "cat": 200, "sat": 200, "on": 200, "mat": 200})
    channel.write_text("the cat\ta cat\nno tab here\n")
    with pytest.raises(UserError, match=":2"):
        run("correct", "noise", "--lang", "en", "--channel", str(channel), str(text), str(tmp_path / "bad.tsv"))
    assert not (tmp_path / "bad.tsv").exists()


def test_align_command_writes_reference_format(tmp_path) -> None:
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("新技学子\t新一届学子\nB B D E F\tA B C D F\n")
    out = tmp_path / "out.werdur"
    run("correct", "align", "--lang", "zh", str(pairs), str(out))
    assert out.read_text().splitlines()[0] == "新 技 学 子 |||| 1 -2 1 1"
    pairs.write_text("a b\tc\n\tx\n")
    with pytest.raises(UserError, match=":2"):
        run("correct", "align", "--lang", "en", str(pairs), str(tmp_path / "bad"))
    assert not (tmp_path / "bad").exists()


def test_choose_gate_picks_the_lowest_dev_wer_and_is_silent_for_a_corrector_without_a_gate(model_dirs, tmp_path, capsys) -> None:
    import json

    from speechtools.correction.inference import Corrector
    from speechtools.scoring.correction_metrics import correction_metrics

    lines = FIXTURE.read_text().splitlines()[:12]
    (tmp_path / "hyp").write_text("".join(f"u{k:03d} {line.split(chr(9))[0]}\n" for k, line in enumerate(lines)))
    (tmp_path / "ref").write_text("".join(f"u{k:03d} {line.split(chr(9))[1]}\n" for k, line in enumerate(lines)))
    common = ["--src", str(tmp_path / "hyp"), "--ref", str(tmp_path / "ref"), "--device", "cpu", "--quiet"]
    capsys.readouterr()
    run("correct", "choose-gate", "--model-dir", str(model_dirs["fastcorrect"]), "--grid", "0 0.5 0.9", *common,
        "--json", str(tmp_path / "gate.json"))
    chosen = capsys.readouterr().out.strip()
    report = json.loads((tmp_path / "gate.json").read_text())
    # independently: decode with each threshold and score
    corrector = Corrector.from_model_dir(str(model_dirs["fastcorrect"]), "cpu")
    src = {f"u{k:03d}": line.split("\t")[0].split() for k, line in enumerate(lines)}
    ref = {f"u{k:03d}": line.split("\t")[1].split() for k, line in enumerate(lines)}
    wer = {}
    for t in (0.0, 0.5, 0.9):
        corrector.edit_threshold = t
        out = corrector.correct([" ".join(src[u]) for u in src], progress=False)
        wer[f"{t:g}"] = correction_metrics(src, dict(zip(src, (o.split() for o in out))), ref)["wer_after"]
    assert report["wer"] == pytest.approx(wer)
    assert chosen == min(wer, key=lambda k: (wer[k], list(wer).index(k)))
    run("correct", "choose-gate", "--model-dir", str(model_dirs["fastcorrect"]), "--threshold", "0.3", *common)
    assert capsys.readouterr().out.strip() == "0.3"
    run("correct", "choose-gate", "--model-dir", str(model_dirs["transformer_corrector"]), "--grid", "0 0.5", *common)
    captured = capsys.readouterr()
    assert captured.out == "" and "has no edit gate" in captured.err


def test_a_very_long_sentence_is_corrected_in_pieces_in_linear_time(model_dirs) -> None:
    import time

    from speechtools.correction.inference import Corrector

    corrector = Corrector.from_model_dir(str(model_dirs["fastcorrect"]), "cpu")
    corrector.max_tokens = 16
    words = "the dog ran home and the cat sat".split()
    sentence = " ".join(words[:6] + ["whitmoreland"] + words * 3)  # 12 @@ pieces where a plain cut would fall at 16
    tokens = corrector.tokenizer.tokenize(sentence)
    pieces = corrector._pieces(tokens)
    assert all(len(p) <= 16 for p in pieces) and [t for p in pieces for t in p] == tokens
    assert len(pieces) > 1 and all(not p[-1].endswith("@@") for p in pieces)  # cuts fall between words
    corrector.max_tokens = 8
    alone = corrector.correct([" ".join(words)], progress=False)[0]
    assert corrector.correct([" ".join(words * 2)], progress=False)[0] == " ".join([alone] * 2)  # pieces corrected independently
    corrector.max_tokens = 256
    times = []
    for n in (1_000, 4_000):  # 4x the input: linear ~4x the time, quadratic ~16x; 8x leaves room for a loaded machine
        start = time.perf_counter()
        out = corrector.correct([" ".join(words * (n // 8))], batch_size=64, progress=False)[0]
        times.append(time.perf_counter() - start)
        assert len(out.split()) >= n // 2
    assert times[1] < 8 * times[0] + 0.5, times


@pytest.mark.parametrize("name", ["fastcorrect", "transformer_corrector"])
def test_correct_asr_n_best_with_a_single_candidate_corrector_corrects_the_1_best(model_dirs, tmp_path, name) -> None:
    nbest = tmp_path / "asr_hyp.tsv"
    nbest.write_text("u1\tthe dog ran home\tthe dog ran home ||| a dog ran home\nu2\t\nu3\tthe cat\n")
    one = tmp_path / "one.txt"
    one.write_text("u1 the dog ran home\nu2\nu3 the cat\n")
    out_nbest, out_one = tmp_path / "a.txt", tmp_path / "b.txt"
    run("correct-asr", "--model-dir", str(model_dirs[name]), "--device", "cpu", "--quiet", "--n-best", str(nbest), str(out_nbest))
    run("correct-asr", "--model-dir", str(model_dirs[name]), "--device", "cpu", "--quiet", "--format", "kaldi", str(one), str(out_one))
    assert out_nbest.read_text() == out_one.read_text()
