"""The LSTM language model of shallow fusion (``lstm_lm``) and its text task (``task: lm``)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import torch

from speechtools.cli.main import cli
from speechtools.errors import UserError
from speechtools.models import MODELS
from speechtools.models.lstm_lm import LSTMLM, LSTMLMConfig
from speechtools.models.task_info import FixedSizes
from speechtools.text.asr_units import SOS_EOS, get_asr_units

CONF = Path(__file__).resolve().parents[2] / "conf" / "lm"
V = 12  # FixedSizes: blank 0, <sos/eos> = V - 1


def run(*args: str) -> None:
    cli.main(args=list(args), prog_name="speechtools", standalone_mode=False)


def small_lm(tie: bool = True, layers: int = 2) -> LSTMLM:
    torch.manual_seed(0)
    conf = LSTMLMConfig(dim=16, layers=layers, dropout=0.3, tie_embeddings=tie)
    return MODELS.build("lstm_lm", conf, FixedSizes(vocab_size=V)).eval()  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------- model

def test_the_model_reads_vocabulary_and_special_ids_from_the_task() -> None:
    lm = small_lm()
    assert (lm.conf.vocab_size, lm.conf.sos_eos_id, lm.conf.blank_id) == (V, V - 1, 0)
    assert lm.out is None and lm.embed.num_embeddings == V  # tied: the embedding is the projection
    assert small_lm(tie=False).out is not None


@pytest.mark.parametrize("field, value", [("dim", 0), ("layers", 0), ("dropout", 1.0), ("vocab_size", -1), ("blank_id", -1), ("sos_eos_id", -2)])
def test_bad_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        LSTMLMConfig(**{field: value})


@pytest.mark.parametrize("tie, layers", [(True, 2), (False, 1)])
def test_step_by_step_equals_the_teacher_forced_forward(tie: bool, layers: int) -> None:
    lm = small_lm(tie, layers)
    g = torch.Generator().manual_seed(1)
    seq = torch.cat([torch.tensor([V - 1]), torch.randint(1, V - 1, (9,), generator=g)])
    with torch.no_grad():
        full = torch.log_softmax(lm(seq[None], torch.tensor([len(seq)])).float(), -1)[0]
        state = lm.init_state(1)
        steps = torch.stack([lm.step(tok[None], state)[0] for tok in seq])
    assert steps.dtype == torch.float32 and steps.shape == (len(seq), V)
    torch.testing.assert_close(steps, full, atol=1e-5, rtol=0)


def test_padding_never_changes_the_valid_positions() -> None:
    lm = small_lm()
    g = torch.Generator().manual_seed(2)
    rows = [torch.randint(1, V, (n,), generator=g) for n in (7, 3, 5)]
    lengths = torch.tensor([len(r) for r in rows])
    batch = torch.full((3, 7), 0, dtype=torch.long)
    for k, r in enumerate(rows):
        batch[k, : len(r)] = r
    garbage = batch.clone()
    garbage[1, 3:] = 5
    garbage[2, 5:] = 7
    with torch.no_grad():
        out, out2 = lm(batch, lengths), lm(garbage, lengths)
        for k, r in enumerate(rows):
            alone = lm(r[None], lengths[k: k + 1])[0]
            torch.testing.assert_close(out[k, : len(r)], alone, atol=1e-6, rtol=0)
            torch.testing.assert_close(out2[k, : len(r)], alone, atol=1e-6, rtol=0)


def test_the_blank_is_never_predicted() -> None:
    lm = small_lm()
    with torch.no_grad():
        state = lm.init_state(3)
        logp = lm.step(torch.full((3,), V - 1), state)
    assert torch.isneginf(logp[:, 0]).all() and torch.isfinite(logp[:, 1:]).all()
    torch.testing.assert_close(logp.logsumexp(-1), torch.zeros(3), atol=1e-5, rtol=0)


def test_the_loss_is_the_mean_over_real_tokens_and_ppl_its_exponential() -> None:
    lm = small_lm()
    prev = torch.tensor([[V - 1, 3, 4], [V - 1, 5, 0]])
    target = torch.tensor([[3, 4, V - 1], [5, V - 1, -100]])
    out = lm(prev, torch.tensor([3, 2]))
    terms = lm.loss(out, target)
    logp = torch.log_softmax(out, -1)
    manual = -(logp[0, 0, 3] + logp[0, 1, 4] + logp[0, 2, V - 1] + logp[1, 0, 5] + logp[1, 1, V - 1]) / 5
    torch.testing.assert_close(terms["loss"], manual)
    torch.testing.assert_close(terms["ppl"], manual.detach().exp())


def test_reorder_selects_hypotheses() -> None:
    lm = small_lm()
    with torch.no_grad():
        state = lm.init_state(3)
        lm.step(torch.full((3,), V - 1), state)
        lm.step(torch.tensor([2, 3, 4]), state)
        before = {k: v.clone() for k, v in state.items()}
        LSTMLM.reorder(state, torch.tensor([2, 2, 0]))
        for key, value in state.items():
            assert torch.equal(value, before[key][:, [2, 2, 0]])
        # the reordered hypotheses continue as the originals would
        after = lm.step(torch.tensor([5, 5, 5]), state)
        ref = {k: v[:, [2, 0]].clone() for k, v in before.items()}
        expect = lm.step(torch.tensor([5, 5]), ref)
    torch.testing.assert_close(after[[0, 2]], expect)


# ------------------------------------------------------------------------------------------ task

@pytest.fixture(scope="module")
def tokens_file(tmp_path_factory) -> Path:
    """A recogniser's token list through the real command, from a transcript without 'z' and 'q'."""
    root = tmp_path_factory.mktemp("lm_tokens")
    (root / "data").mkdir()
    (root / "data" / "text").write_text("u1 hello world\nu2 speech tools are fun\nu3 good morning Bob's cat\n", encoding="utf-8")
    run("make-tokens", str(root / "data"), "--units", "en_char", "--out", str(root / "tokens.txt"))
    return root / "tokens.txt"


def lm_task(tokens: Path, **task_conf):
    from speechtools.tasks import TASKS

    entry = TASKS.get("lm")
    return entry.cls(entry.config(token_list=str(tokens), **task_conf), "lstm_lm", LSTMLMConfig())


def decode(task, ids) -> str:
    return get_asr_units("en_char").detokenize(task.tokens.decode(ids))


def test_the_task_reads_a_kaldi_text(tokens_file: Path, tmp_path: Path, capsys) -> None:
    text = tmp_path / "text"
    text.write_text("a1 Hello world!\na2\na3 zoo quiz\na4 " + "ab " * 30 + "\na5 ... \n", encoding="utf-8")
    task = lm_task(tokens_file, train_text=str(text), max_units=40)
    data = task.train_dataset()
    err = capsys.readouterr().err
    assert "2 sentences" in err and "skipped 2 empty and 1 longer than 40 units" in err and "3 units mapped to <unk>" in err
    assert len(data) == 2 and data.ids.dtype == "int16" and data.offsets.tolist() == [0, 11, 19]  # one flat array
    assert decode(task, data[0]) == "hello world"
    unk = task.tokens.unk_id
    assert [int(i) == unk for i in data[1]] == [True, False, False, False, True, False, False, True]  # z, q, z
    assert list(task.lengths(data)) == [12, 9]
    assert (task.vocab_size, task.sos_eos_id, task.blank_id) == (len(task.tokens), len(task.tokens) - 1, 0)
    assert task.tokens.tokens[-1] == SOS_EOS


def test_the_task_reads_a_folder_of_plain_and_gzipped_text(tokens_file: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Good morning.\n\nhello world\n", encoding="utf-8")
    with gzip.open(corpus / "b.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("speech tools are fun\n" * 3)
    (corpus / "notes.md").write_text("ignored\n")
    task = lm_task(tokens_file, train_text=str(corpus), text_format="plain")
    data = task.train_dataset()
    assert [decode(task, data[k]) for k in range(len(data))] == ["good morning", "hello world"] + ["speech tools are fun"] * 3
    one = lm_task(tokens_file, train_text=str(corpus / "b.txt.gz"), text_format="plain").train_dataset()
    assert len(one) == 3


def test_a_kaldi_validation_text_beside_a_plain_training_corpus(tokens_file: Path, tmp_path: Path) -> None:
    """A recipe's dev transcripts (``uttid text``) validate an LM trained on plain text: the ids are not words."""
    (tmp_path / "corpus.txt").write_text("hello world\n", encoding="utf-8")
    (tmp_path / "dev").write_text("dev_0001 good morning\n", encoding="utf-8")
    conf = dict(train_text=str(tmp_path / "corpus.txt"), valid_text=str(tmp_path / "dev"), text_format="plain")
    plain = lm_task(tokens_file, **conf)  # the default: the training text's format
    as_kaldi = lm_task(tokens_file, valid_text_format="kaldi", **conf).valid_dataset()
    assert len(as_kaldi) == 1 and decode(plain, as_kaldi[0]) == "good morning"
    read_as_words = decode(plain, plain.valid_dataset()[0])
    assert read_as_words.endswith(" good morning") and read_as_words.startswith("de")  # "dev_0001" spelt out


def test_a_batch_is_sos_plus_units_against_units_plus_eos(tokens_file: Path, tmp_path: Path) -> None:
    text = tmp_path / "text"
    text.write_text("a1 hello\na2 fun\n", encoding="utf-8")
    task = lm_task(tokens_file, train_text=str(text))
    data = task.train_dataset()
    batch = task.collate([data[0], data[1]])
    eos = task.sos_eos_id
    y0, y1 = [int(i) for i in data[0]], [int(i) for i in data[1]]
    assert batch["prev_lengths"].tolist() == [6, 4]
    assert batch["prev"][0].tolist() == [eos] + y0 and batch["prev"][1, :4].tolist() == [eos] + y1
    assert batch["target"][0].tolist() == y0 + [eos] and batch["target"][1].tolist() == y1 + [eos, -100, -100]
    model = task.build_model()
    assert model.conf.vocab_size == task.vocab_size and model.conf.sos_eos_id == eos


def test_bad_input_names_file_and_line(tokens_file: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        lm_task(tokens_file, train_text=str(tmp_path / "missing")).train_dataset()
    text = tmp_path / "text"
    text.write_text("a1 hello\n\na3 fun\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        lm_task(tokens_file, train_text=str(text)).train_dataset()
    assert err.value.path == str(text) and err.value.line == 2
    text.write_bytes(b"a1 hello\na2 caf\xe9\n")
    with pytest.raises(UserError, match="UTF-8") as err:
        lm_task(tokens_file, train_text=str(text)).train_dataset()
    assert err.value.line == 2
    text.write_text("a1\na2 ...\n", encoding="utf-8")
    with pytest.raises(UserError, match="no usable sentences"):
        lm_task(tokens_file, train_text=str(text)).train_dataset()
    with pytest.raises(ValueError, match="units"):
        lm_task(tokens_file, train_text=str(text), units="klingon")
    not_asr = tmp_path / "tokens.txt"
    not_asr.write_text("<pad>\n<unk>\na\nb\n")
    with pytest.raises(UserError, match="not an ASR token list"):
        _ = lm_task(not_asr, train_text=str(text)).vocab_size


def test_the_configs_validate() -> None:
    from speechtools.train.experiment import load_experiment

    for name in ("lstm_lm", "lstm_lm_small", "lstm_lm_tiny"):
        experiment = load_experiment(CONF / f"{name}.yaml")
        assert experiment.task == "lm" and experiment.model == "lstm_lm"
    assert load_experiment(CONF / "lstm_lm.yaml").model_conf.dim == 650
    with pytest.raises(Exception, match="valid_text_format"):
        load_experiment(CONF / "lstm_lm_tiny.yaml", ["task_conf.valid_text_format=csv"])


# -------------------------------------------------------------------------------------- training

SENTENCES = ["hello world", "speech tools are fun", "good morning bob's cat"]


def test_training_learns_the_toy_sentences_and_the_model_directory_loads(tokens_file: Path, tmp_path: Path) -> None:
    from speechtools.train.model_dir import load_model_dir

    text = tmp_path / "text"
    text.write_text("".join(f"u{k:04d} {SENTENCES[k % 3]}\n" for k in range(60)), encoding="utf-8")
    out = tmp_path / "exp"
    run("train", "--config", str(CONF / "lstm_lm_tiny.yaml"), "--out-dir", str(out), "--device", "cpu", "--quiet",
        "--set", f"task_conf.train_text={text}", "--set", f"task_conf.valid_text={text}", "--set", f"task_conf.token_list={tokens_file}",
        "--set", "model_conf.dim=48", "--set", "optim.lr=0.02", "--set", "trainer.max_steps=200", "--set", "trainer.batch_bins=400",
        "--set", "trainer.valid_interval=200", "--set", "trainer.save_interval=200", "--set", "trainer.log_interval=10")
    assert {"config.yaml", "model.pt", "tokens.txt"} <= {p.name for p in out.iterdir()}
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert losses[-1] < 0.3 < losses[0], losses  # the floor is the first unit's ln 3 spread over ~19 units

    loaded = load_model_dir(out, "cpu")
    lm, task = loaded.model, loaded.task
    assert isinstance(lm, LSTMLM) and (out / "tokens.txt").read_text() == tokens_file.read_text()
    assert Path(task.conf.token_list).parent == out  # the model directory's copy, not the original
    units = get_asr_units("en_char")
    sentence = units.tokenize(SENTENCES[1])
    ids = task.tokens.encode(sentence)
    eos = task.sos_eos_id
    with torch.inference_mode():
        state = lm.init_state(1)
        lm.step(torch.tensor([eos]), state)
        right = 0
        for k, tok in enumerate(ids):  # after "s", every next unit (and the end) is determined
            logp = lm.step(torch.tensor([tok]), state)[0]
            expected = ids[k + 1] if k + 1 < len(ids) else eos
            right += int(int(logp.argmax()) == expected)
    assert right == len(ids), f"{right} of {len(ids)} continuations learnt"
