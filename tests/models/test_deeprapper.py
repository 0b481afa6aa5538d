"""DeepRapper model and task: padding invariance, incremental decoding, training lowers the loss, paper-size shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from speechtools.config import load_config
from speechtools.models.deeprapper import DeepRapper, DeepRapperConfig
from speechtools.models.task_info import FixedSizes
from speechtools.tasks.deeprapper import DeepRapperTask, DeepRapperTaskConfig

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "music" / "lyrics"


def tiny(info: object = None, **kw: object) -> DeepRapper:
    conf = DeepRapperConfig(dim=32, layers=2, heads=2, ffn=64, dropout=0.0, max_length=64, max_sentences=16,
                            max_line_positions=16, max_beats=16, **kw)  # type: ignore[arg-type]
    torch.manual_seed(0)
    return DeepRapper.build_model(conf, info or FixedSizes(vocab_size=30, rhyme_count=18))  # type: ignore[arg-type]


def make_task(tmp_path: Path, beat_mode: str = "local", reverse: bool = True, max_length: int = 64) -> DeepRapperTask:
    from speechtools.music.lyrics_prep import prepare_lyrics

    prepare_lyrics([str(FIXTURES / "beats_zh.txt")], str(tmp_path / "data"), "lyrics", "zh", valid=0, test=0, seed=1)
    conf = DeepRapperTaskConfig(train_lyrics=str(tmp_path / "data" / "train.txt"), token_list=str(tmp_path / "data" / "tokens.txt"),
                                rhyme_list=str(tmp_path / "data" / "rhymes.txt"), beat_mode=beat_mode, reverse=reverse,  # type: ignore[arg-type]
                                max_length=max_length)
    return DeepRapperTask(conf, "deeprapper", None)


def random_streams(b: int, t: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"tokens": torch.randint(0, 30, (b, t), generator=g), "rhymes": torch.randint(0, 18, (b, t), generator=g),
            "sentences": torch.randint(0, 40, (b, t), generator=g), "positions": torch.randint(0, 20, (b, t), generator=g),
            "beats": torch.randint(0, 20, (b, t), generator=g)}


def test_padded_batch_equals_items_alone(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    model = tiny(task).eval()
    items = list(task.train_dataset().items)
    assert len({len(i["tokens"]) for i in items}) > 1  # really padded
    batch = task.collate(items)
    with torch.no_grad():
        out = model(**batch)
        for k, item in enumerate(items):
            alone = model(**task.collate([item]))
            n = len(item["tokens"]) - 1
            torch.testing.assert_close(out[k, :n], alone[0], rtol=1e-5, atol=1e-5)
    assert (batch["target"] == -100).any()


def test_step_matches_forward() -> None:
    model = tiny().eval()
    streams = random_streams(3, 9)
    with torch.no_grad():
        full = torch.log_softmax(model(**streams), dim=-1)
        state = model.init_state(3)
        prompt = {k: v[:, :4] for k, v in streams.items()}
        torch.testing.assert_close(model.step(state=state, **prompt), full[:, 3], rtol=1e-4, atol=1e-5)
        for t in range(4, 9):
            logp = model.step(state=state, **{k: v[:, t: t + 1] for k, v in streams.items()})
            torch.testing.assert_close(logp, full[:, t], rtol=1e-4, atol=1e-5)
        model.reorder(state, torch.tensor([2, 2, 0]))
        assert state["caches"][0]["k"].shape[0] == 3 and state["offset"] == 9


def test_disabled_embeddings_are_not_built_and_ids_are_clamped() -> None:
    plain = tiny(use_rhyme=False, use_sentence=False, use_line_position=False, use_beat=False)
    assert len(plain.features) == 0
    full = tiny()
    assert set(full.features) == {"rhymes", "sentences", "positions", "beats"}
    streams = random_streams(2, 5)
    streams["sentences"] += 1000  # beyond the table: clamped, no error
    assert full(**streams).shape == (2, 5, 30)
    with pytest.raises(ValueError, match="max_length"):
        full(**random_streams(1, 65))


def test_a_few_steps_lower_the_loss(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    model = tiny(task).train()
    batch = task.collate(list(task.train_dataset().items))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss, stats = task.compute_loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] - 0.5
    assert "ppl" in stats


def test_task_streams_follow_the_representation(tmp_path: Path) -> None:
    task = make_task(tmp_path, beat_mode="local", max_length=1000)
    item = task.train_dataset()[0]
    tokens = task.vocab.tokens.decode(item["tokens"].tolist())
    assert tokens[0] == "[MASK]" and tokens[-1] == "[CLS]" and "[BEAT]" in tokens
    # windows of a long song overlap by one token and cover it
    cut = make_task(tmp_path / "w", beat_mode="local", max_length=16)
    whole = task.train_dataset()[0]["tokens"].tolist()
    pieces = [w["tokens"].tolist() for w in cut.train_dataset().items]
    joined = pieces[0]
    for piece in pieces[1:]:
        if joined[-1] == 3 and piece[0] == 2:  # [CLS] then the next song's [MASK]
            break
        assert piece[0] == joined[-1] and len(piece) <= 17
        joined += piece[1:]
    assert joined == whole
    forward = make_task(tmp_path / "f", beat_mode="none", reverse=False)
    tokens_f = forward.vocab.tokens.decode(forward.train_dataset()[0]["tokens"].tolist())
    assert "[BEAT]" not in tokens_f
    # the rhyme id of a character is its final's class (光 guang: ang = class 14 of 16, id 16); specials get 0
    pairs = {(t, r) for it in task.train_dataset().items
             for t, r in zip(task.vocab.tokens.decode(it["tokens"].tolist()), it["rhymes"].tolist())}
    assert ("光", 16) in pairs and ("[SEP]", 0) in pairs and all(r == 0 for t, r in pairs if t.startswith("["))


def test_paper_size_config_shapes() -> None:
    conf = load_config(ROOT / "conf" / "music" / "deeprapper.yaml")
    from speechtools.config import from_dict

    model_conf = from_dict(DeepRapperConfig, conf["model_conf"])
    assert (model_conf.layers, model_conf.dim, model_conf.heads, model_conf.max_length) == (12, 768, 12, 1024)
    model = DeepRapper.build_model(model_conf, FixedSizes(vocab_size=100, rhyme_count=18)).eval()
    blocks = sum(p.numel() for p in model.blocks.parameters())
    assert blocks == 12 * (4 * 768 * 768 + 4 * 768 + 2 * 768 * 3072 + 3072 + 768 + 4 * 768)
    assert model.features["sentences"].num_embeddings == 1032 and model.features["beats"].num_embeddings == 1024
    with torch.no_grad():
        out = model(**{k: v % 18 for k, v in random_streams(1, 6).items()})
    assert out.shape == (1, 6, 100)
